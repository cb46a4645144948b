#pragma once
// Joint image + mask transforms for segmentation, and the pipeline (Compose) built from JSON.
//
// A transform changes a Sample in place: the f32 HWC image (0-255 scale until `normalize`) and,
// when present, its int32 mask. Geometry moves both together and is mask-safe: masks are resampled
// by nearest neighbour only (no label is ever invented), and pixels that come from outside the
// original image (crop padding, rotation corners) get `ignore_index` in the mask and `pad_value`
// in the image.
//
// Randomness: every random choice is drawn from the SampleRng passed in (data/sample_rng.h), which
// the loader keys by (seed, epoch, sample index); a transform draws the same count of numbers
// whether or not it fires, so one transform's coin flip never shifts the next one's draws.
//
// JSON: a pipeline is an array of objects, each with "type" and that transform's keys, e.g.
//   [{"type": "random_scale", "min": 0.5, "max": 2.0},
//    {"type": "random_crop", "size": [360, 480]},
//    {"type": "hflip", "p": 0.5},
//    {"type": "color_jitter", "brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.05},
//    {"type": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "scale": "0-1"}]
// Validation is strict: an unknown type or key, or a value of the wrong type or range, is an error
// naming the JSON path (e.g. "transforms[3].brightnes") and listing the allowed names.
// docs/data_pipeline.md lists every transform with its keys and defaults.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/sample_rng.h"

namespace segcore::data {

// What a pipeline needs to know about its dataset.
struct TransformContext {
    int32_t ignore_index = 255;  // mask value for padded / out-of-image pixels (per-transform override)
};

class Transform {
public:
    virtual ~Transform() = default;
    virtual void apply(Sample& sample, SampleRng& rng) const = 0;
    virtual std::string type() const = 0;        // the JSON "type"
    virtual nlohmann::json to_json() const = 0;  // parses back to an equal transform
};
using TransformPtr = std::shared_ptr<const Transform>;

// A closed range [lo, hi] for a random parameter.
struct Range {
    double lo = 0, hi = 0;
};

// ---- geometric (image and mask together) ----

// Resize to (height, width), or the shorter side to `short_side` keeping the aspect ratio (the
// longer side capped at `max_long_side` when set). Image bilinear, mask nearest.
struct Resize final : Transform {
    int64_t height = 0, width = 0;
    int64_t short_side = 0, max_long_side = 0;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return "resize"; }
    nlohmann::json to_json() const override;
};

// Scales both sides by one factor drawn uniformly from [min, max].
struct RandomScale final : Transform {
    double min = 0.5, max = 2.0;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return "random_scale"; }
    nlohmann::json to_json() const override;
};

// Crops (height, width) at a uniform random position. An image smaller than the crop is first
// padded at the bottom and right (image: pad_value, mask: ignore_index). cat_max_ratio < 1 retries
// (up to 10 times, as mmsegmentation) while one class covers more than that share of the crop.
struct RandomCrop final : Transform {
    int64_t height = 0, width = 0;
    std::vector<float> pad_value{0.f};  // one value, or one per channel
    int32_t ignore_index = 255;
    double cat_max_ratio = 1.0;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return "random_crop"; }
    nlohmann::json to_json() const override;
};

// Pads at the bottom and right to at least (height, width) and/or to multiples of size_divisor.
struct Pad final : Transform {
    int64_t height = 0, width = 0, size_divisor = 0;
    std::vector<float> pad_value{0.f};
    int32_t ignore_index = 255;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return "pad"; }
    nlohmann::json to_json() const override;
};

// Mirrors left-right (hflip) or top-bottom (vflip) with probability p.
struct Flip final : Transform {
    bool vertical = false;
    double p = 0.5;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return vertical ? "vflip" : "hflip"; }
    nlohmann::json to_json() const override;
};

// With probability p, rotates about the image centre by an angle drawn from [degrees.lo,
// degrees.hi] (positive = counter-clockwise, as torchvision). Same size out; image bilinear with
// pad_value outside, mask nearest with ignore_index outside.
struct RandomRotate final : Transform {
    Range degrees{-10, 10};
    double p = 1.0;
    std::vector<float> pad_value{0.f};
    int32_t ignore_index = 255;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return "random_rotate"; }
    nlohmann::json to_json() const override;
};

// ---- photometric (image only) ----

// torchvision ColorJitter on the 0-255 scale: brightness/contrast/saturation factors drawn from
// their ranges (a number b means [max(0, 1-b), 1+b]), hue shift from [-h, h] (h <= 0.5). An
// adjustment whose strength is 0 is skipped; with random_order the four run in a random order
// (torchvision), else brightness, contrast, saturation, hue. Values are clamped to [0, 255] after
// each step. The whole jitter fires with probability p.
struct ColorJitter final : Transform {
    Range brightness{1, 1}, contrast{1, 1}, saturation{1, 1}, hue{0, 0};
    bool random_order = true;
    double p = 1.0;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return "color_jitter"; }
    nlohmann::json to_json() const override;
};

// With probability p, a separable Gaussian blur with sigma drawn from [sigma.lo, sigma.hi];
// kernel_size 0 = 2 * ceil(3 sigma) + 1; borders reflect (torchvision).
struct GaussianBlur final : Transform {
    Range sigma{0.1, 2.0};
    int64_t kernel_size = 0;
    double p = 1.0;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return "gaussian_blur"; }
    nlohmann::json to_json() const override;
};

// With probability p, adds N(0, std^2) per pixel and channel, std drawn from [stddev.lo, stddev.hi]
// (0-255 scale), then clamps to [0, 255].
struct GaussianNoise final : Transform {
    Range stddev{0, 10};
    double p = 1.0;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return "gaussian_noise"; }
    nlohmann::json to_json() const override;
};

// out = (x * k - mean) / std per channel, k = 1/255 for scale "0-1" and 1 for "0-255". With
// order "bgr" the channels are reversed first; mean and std are given in the output order.
struct Normalize final : Transform {
    std::vector<float> mean{0.485f, 0.456f, 0.406f}, stddev{0.229f, 0.224f, 0.225f};
    bool unit_scale = true;  // "0-1"
    bool bgr = false;
    void apply(Sample& s, SampleRng& rng) const override;
    std::string type() const override { return "normalize"; }
    nlohmann::json to_json() const override;
};

// ---- the pipeline ----

class Compose {
public:
    Compose() = default;
    explicit Compose(std::vector<TransformPtr> transforms) : transforms_(std::move(transforms)) {}
    // `j` is an array of transform objects; `path` prefixes error messages ("data.train.transforms").
    static Compose from_json(const nlohmann::json& j, const TransformContext& ctx = {},
                             const std::string& path = "transforms");
    void apply(Sample& sample, SampleRng& rng) const;
    nlohmann::json to_json() const;
    const std::vector<TransformPtr>& transforms() const { return transforms_; }
    bool empty() const { return transforms_.empty(); }

private:
    std::vector<TransformPtr> transforms_;
};

// One transform from its JSON object (same validation as Compose::from_json).
TransformPtr transform_from_json(const nlohmann::json& j, const TransformContext& ctx = {},
                                 const std::string& path = "transform");
std::vector<std::string> transform_types();  // every accepted "type"

// The named pipelines. "standard" training augmentation: random_scale [0.5, 2] -> random_crop
// (padded with ignore) -> hflip 0.5 -> color_jitter 0.2/0.2/0.2/0.05 (p 0.8) -> normalize
// (ImageNet mean/std, 0-1 scale, RGB). "eval": normalize only (batch size 1 for mixed sizes, or add
// a resize). Both as JSON, so they can be printed, edited and saved beside a model.
nlohmann::json standard_train_transforms_json(int64_t crop_height, int64_t crop_width, int32_t ignore_index = 255);
nlohmann::json eval_transforms_json();
Compose standard_train_transforms(int64_t crop_height, int64_t crop_width, int32_t ignore_index = 255);
Compose eval_transforms();

// ---- primitives (used by the transforms; exposed for tests and tools) ----
// Bilinear with half-pixel centres (PyTorch align_corners=false, no antialiasing).
FloatImage resize_bilinear(const FloatImage& img, int64_t height, int64_t width);
// Nearest with half-pixel centres (PyTorch "nearest-exact"): src = floor((dst + 0.5) * in / out).
Mask resize_nearest(const Mask& mask, int64_t height, int64_t width);
// Copies the window [y0, y0 + h) x [x0, x0 + w); parts outside the source get the fill value.
FloatImage crop_image(const FloatImage& img, int64_t y0, int64_t x0, int64_t height, int64_t width,
                      const std::vector<float>& fill);
Mask crop_mask(const Mask& mask, int64_t y0, int64_t x0, int64_t height, int64_t width, int32_t fill);
void flip_image(FloatImage& img, bool vertical);
void flip_mask(Mask& mask, bool vertical);
FloatImage rotate_image(const FloatImage& img, double degrees, const std::vector<float>& fill);
Mask rotate_mask(const Mask& mask, double degrees, int32_t fill);
// torchvision's adjust_* on the 0-255 scale (factor 1 / shift 0 = unchanged).
void adjust_brightness(FloatImage& img, double factor);
void adjust_contrast(FloatImage& img, double factor);
void adjust_saturation(FloatImage& img, double factor);
void adjust_hue(FloatImage& img, double shift);  // shift in [-0.5, 0.5] of a full turn
void gaussian_blur(FloatImage& img, double sigma, int64_t kernel_size = 0);

}  // namespace segcore::data
