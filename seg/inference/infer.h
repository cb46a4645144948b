#pragma once
// Inference: from normalised images to per-pixel class probabilities, the one function that the
// trainer's validation, `segcore eval` and `segcore predict` all call, so their numbers agree bit
// for bit. docs/inference.md has the formulas; in short, for images x (N, C, H, W):
//
//   whole:    logits = model(x)                                              (N, K, H, W)
//   sliding:  windows of crop size (ch, cw) at steps of the stride (sh, sw), the last window of a
//             row/column moved back to end at the image border (mmsegmentation's slide_inference):
//               rows  y1 = min(i * sh, max(H - ch, 0)),  y2 = min(y1 + ch, H),  i = 0 .. ceil(max(H - ch, 0) / sh)
//             (same for columns). A window larger than the image is CLIPPED to it (no padding), so
//             an image no larger than the crop is one window: the whole image. The logits of
//             overlapping windows are summed and divided by the number of windows covering the pixel.
//   TTA:      for every scale s and (with flip) both orientations f, the image is resized bilinearly
//             to (round(s H), round(s W)) (not for s == 1) and mirrored left-right (f), logits are
//             computed as above, mirrored back, resized back bilinearly to (H, W), and softmaxed:
//               P = 1/|V| sum over variants v of softmax(logits_v)          (mmseg's TTA rule)
//             With one variant (scales {1}, no flip) P is exactly softmax(logits): no resize, no
//             sum, no division.
//
// Every step runs as device ops (interpolate, flip, add_, div, softmax), so the same code serves
// CPU and CUDA tensors; windows run one at a time over the whole batch, so a result never depends
// on how many windows there are or how they are batched.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct InferOptions {
    std::string mode = "whole";          // "whole" | "sliding"
    int64_t crop_h = 0, crop_w = 0;      // sliding window size (required for sliding)
    int64_t stride_h = 0, stride_w = 0;  // 0: 2/3 of the crop (mmseg's 512 -> 341)
    bool flip = false;                   // horizontal-flip TTA
    std::vector<double> scales = {1.0};  // multi-scale TTA (each > 0)

    // Strict (core/json_reader.h): keys mode, crop [h, w], stride [h, w], flip, scales. Errors name
    // the JSON path ("eval.crop: ..."). `path` prefixes them.
    static InferOptions from_json(const nlohmann::json& j, const std::string& path = "eval");
    nlohmann::json to_json() const;  // parses back to equal options
    std::string str() const;         // one line for logs: "sliding 512x1024 stride 341x682, flip, scales 0.75,1,1.25"

    // Throws (naming `path`) for an unknown mode, sliding without a crop, a stride larger than the
    // crop (pixels no window covers), a negative size, or an empty / non-positive scale list.
    void validate(const std::string& path = "eval") const;
    // The stride actually used: the given one, or 2/3 of the crop (at least 1).
    int64_t effective_stride_h() const;
    int64_t effective_stride_w() const;
    // One variant (whole or sliding, scales {1}, no flip): probabilities are softmax(logits) exactly.
    bool single_variant() const { return !flip && scales.size() == 1 && scales[0] == 1.0; }

    bool operator==(const InferOptions&) const = default;
};

// Command-line overrides of a model card's inference options (`segcore eval` / `predict` flags);
// empty strings and false flags leave an option as it is.
struct InferOverrides {
    std::string mode;      // "whole" | "sliding"
    std::string crop;      // "HxW" or "S" (square); a crop without a mode switches to sliding
    std::string stride;    // "HxW" or "S"
    bool flip = false;     // turn flip TTA on
    bool no_flip = false;  // turn it off
    std::string scales;    // "0.75,1,1.25"
};
// Applies `o` to `base` and validates the result; errors name the flag ("--crop: ...").
InferOptions apply_overrides(InferOptions base, const InferOverrides& o);
// "512x1024" -> {512, 1024} (digits only, lowercase x); with allow_square also "512" -> {512, 512}.
// `what` names the value in errors. Every HxW flag of the CLI (--crop, --stride, --size) uses it.
std::pair<int64_t, int64_t> parse_size_hw(const std::string& s, const std::string& what, bool allow_square = false);
// "0.75,1,1.25" -> {0.75, 1, 1.25}; every scale positive.
std::vector<double> parse_scales(const std::string& s, const std::string& what);

// The windows of one axis: start offsets for an image of `size` pixels (window `crop`, step
// `stride`), each window being [start, min(start + crop, size)). Exposed for tests and docs.
std::vector<int64_t> window_starts(int64_t size, int64_t crop, int64_t stride);

// Logits (N, K, H, W) f32 of one view of the images, whole or sliding per `opt` (scales and flip
// are NOT applied here). Runs under NoGrad.
Tensor infer_logits(SegModel& model, const Tensor& images, const InferOptions& opt);

// images (N, C, H, W), normalised, on the model's device; the model should be in eval mode (the
// caller's choice: this function never changes it). Runs under NoGrad. Returns per-pixel class
// probabilities (N, K, H, W) f32 on the images' device, as described at the top of this file.
Tensor infer_probabilities(SegModel& model, const Tensor& images, const InferOptions& opt);

}  // namespace segcore::seg
