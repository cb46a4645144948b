// Whole-image and sliding-window inference with flip / multi-scale TTA (seg/inference/infer.h).
#include "seg/inference/infer.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <tuple>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "core/json_parse.h"
#include "core/json_reader.h"
#include "kernels/elementwise/binary.h"
#include "kernels/resize/interpolate.h"
#include "kernels/shape/flip.h"
#include "kernels/softmax/softmax.h"

namespace segcore::seg {

// ---- options ----

namespace {

// "key": [h, w] of positive integers; h and w are left alone when the key is absent.
void read_pair(JsonReader& r, const std::string& key, int64_t& h, int64_t& w) {
    if (!r.has(key)) {
        r.raw(key);  // still an allowed key
        return;
    }
    const std::vector<int64_t> v = r.integers(key, {}, 1);
    SEGCORE_CHECK(v.size() == 2, r.path_of(key), ": expected [height, width] (two positive integers), got ",
                  json_excerpt(*r.raw(key)));
    h = v[0];
    w = v[1];
}

}  // namespace

InferOptions InferOptions::from_json(const nlohmann::json& j, const std::string& path) {
    JsonReader r(j, path);
    InferOptions o;
    o.mode = r.string("mode", "whole", {"whole", "sliding"});
    read_pair(r, "crop", o.crop_h, o.crop_w);
    read_pair(r, "stride", o.stride_h, o.stride_w);
    o.flip = r.boolean("flip", false);
    if (const nlohmann::json* s = r.raw("scales")) {
        SEGCORE_CHECK(s->is_array() && !s->empty(), r.path_of("scales"),
                      ": expected a non-empty array of positive numbers, got ", json_excerpt(*s));
        o.scales.clear();
        for (size_t i = 0; i < s->size(); ++i) {
            const nlohmann::json& e = (*s)[i];
            SEGCORE_CHECK(e.is_number() && std::isfinite(e.get<double>()) && e.get<double>() > 0, r.path_of("scales"),
                          "[", i, "]: expected a positive number, got ", json_excerpt(e));
            o.scales.push_back(e.get<double>());
        }
    }
    r.finish();
    o.validate(path);
    return o;
}

nlohmann::json InferOptions::to_json() const {
    nlohmann::json j = {{"mode", mode}};
    // Only what was set: a crop of 0 means "none", a stride of 0 "the default".
    if (crop_h > 0 || crop_w > 0) j["crop"] = {crop_h, crop_w};
    if (stride_h > 0 || stride_w > 0) j["stride"] = {stride_h, stride_w};
    j["flip"] = flip;
    j["scales"] = scales;
    return j;
}

std::string InferOptions::str() const {
    std::ostringstream os;
    os << mode;
    if (mode == "sliding")
        os << " " << crop_h << "x" << crop_w << " stride " << effective_stride_h() << "x" << effective_stride_w();
    if (flip) os << ", flip";
    if (!(scales.size() == 1 && scales[0] == 1.0)) {
        os << ", scales ";
        for (size_t i = 0; i < scales.size(); ++i) os << (i ? "," : "") << scales[i];
    }
    return os.str();
}

void InferOptions::validate(const std::string& path) const {
    const std::string p = path.empty() ? "" : path + ".";
    SEGCORE_CHECK(mode == "whole" || mode == "sliding", p, "mode: unknown value \"", mode,
                  "\" (allowed: whole, sliding)");
    SEGCORE_CHECK(crop_h >= 0 && crop_w >= 0 && stride_h >= 0 && stride_w >= 0, p,
                  "crop/stride: sizes must not be negative, got crop ", crop_h, "x", crop_w, " stride ", stride_h, "x",
                  stride_w);
    if (mode == "sliding") {
        SEGCORE_CHECK(crop_h > 0 && crop_w > 0, p,
                      "crop: sliding-window inference needs a window size, e.g. \"crop\": "
                      "[512, 512] (or --crop 512x512)");
        // A stride larger than the window would leave pixels no window covers (0 / 0 logits).
        SEGCORE_CHECK(effective_stride_h() <= crop_h && effective_stride_w() <= crop_w, p, "stride: the stride ",
                      effective_stride_h(), "x", effective_stride_w(), " is larger than the crop ", crop_h, "x", crop_w,
                      ", so some pixels would be in no window");
    }
    SEGCORE_CHECK(!scales.empty(), p, "scales: expected at least one scale (1.0 = the image as it is)");
    for (size_t i = 0; i < scales.size(); ++i)
        SEGCORE_CHECK(std::isfinite(scales[i]) && scales[i] > 0, p, "scales[", i, "]: expected a positive number, got ",
                      scales[i]);
}

// mmseg configs use crop 512 / stride 341, i.e. two thirds of the window.
int64_t InferOptions::effective_stride_h() const {
    return stride_h > 0 ? stride_h : std::max<int64_t>(1, crop_h * 2 / 3);
}
int64_t InferOptions::effective_stride_w() const {
    return stride_w > 0 ? stride_w : std::max<int64_t>(1, crop_w * 2 / 3);
}

// ---- command-line overrides ----

std::pair<int64_t, int64_t> parse_size_hw(const std::string& s, const std::string& what, bool allow_square) {
    // Digits only on each side: stoll alone would accept "360x480px", " 360" or "+3".
    const auto number = [](const std::string& t) -> int64_t {
        if (t.empty() || t.size() > 9 || !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return 0;
        return std::stoll(t);
    };
    const size_t x = s.find('x');
    int64_t h = 0, w = 0;
    if (x != std::string::npos) {
        h = number(s.substr(0, x));
        w = number(s.substr(x + 1));
    } else if (allow_square) {
        h = w = number(s);
    }
    SEGCORE_CHECK(h > 0 && w > 0, what, ": expected HxW", allow_square ? " or S" : "",
                  " with positive integers (e.g. 512x1024), got '", s, "'");
    return {h, w};
}

std::vector<double> parse_scales(const std::string& s, const std::string& what) {
    std::vector<double> out;
    size_t start = 0;
    while (true) {
        const size_t comma = s.find(',', start);
        const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        size_t used = 0;
        double v = 0;
        try {
            v = std::stod(part, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        SEGCORE_CHECK(!part.empty() && used == part.size() && std::isfinite(v) && v > 0, what,
                      ": expected positive numbers separated by commas (e.g. 0.75,1,1.25), got \"", s, "\"");
        out.push_back(v);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

InferOptions apply_overrides(InferOptions base, const InferOverrides& o) {
    SEGCORE_CHECK(!(o.flip && o.no_flip), "--flip and --no-flip: give one of them");
    if (!o.mode.empty()) {
        SEGCORE_CHECK(o.mode == "whole" || o.mode == "sliding", "--mode: expected whole or sliding, got \"", o.mode,
                      "\"");
        base.mode = o.mode;
    }
    if (!o.crop.empty()) {
        std::tie(base.crop_h, base.crop_w) = parse_size_hw(o.crop, "--crop", /*allow_square=*/true);
        if (o.mode.empty()) base.mode = "sliding";  // a window size only means something when sliding
    }
    if (!o.stride.empty()) std::tie(base.stride_h, base.stride_w) = parse_size_hw(o.stride, "--stride", /*allow_square=*/true);
    if (o.flip) base.flip = true;
    if (o.no_flip) base.flip = false;
    if (!o.scales.empty()) base.scales = parse_scales(o.scales, "--scales");
    try {
        base.validate("");
    } catch (const Error& e) {
        SEGCORE_THROW("inference options (model card + flags): ", e.message());
    }
    return base;
}

// ---- inference ----

std::vector<int64_t> window_starts(int64_t size, int64_t crop, int64_t stride) {
    SEGCORE_CHECK(size > 0 && crop > 0 && stride > 0, "window_starts: expected positive sizes, got size ", size,
                  " crop ", crop, " stride ", stride);
    // mmseg: grids = max(size - crop + stride - 1, 0) // stride + 1; window idx starts at
    // idx * stride, ends at min(start + crop, size), and is moved back to start at end - crop.
    const int64_t grids = std::max<int64_t>(size - crop + stride - 1, 0) / stride + 1;
    std::vector<int64_t> starts;
    for (int64_t i = 0; i < grids; ++i) {
        const int64_t end = std::min(i * stride + crop, size);
        starts.push_back(std::max<int64_t>(end - crop, 0));
    }
    return starts;
}

namespace {

// model(x) as f32 logits, checked against the SegModel contract (logits at the input size).
Tensor forward_logits(SegModel& model, const Tensor& x) {
    const Tensor out = model(autograd::Variable(x)).data();
    SEGCORE_CHECK(out.dim() == 4 && out.size(0) == x.size(0) && out.size(2) == x.size(2) && out.size(3) == x.size(3),
                  "inference: ", model.type_name(), " returned logits of shape ", shape_str(out.shape()),
                  " for images of shape ", shape_str(x.shape()),
                  " (expected (N, classes, H, W) at the input resolution)");
    return out.to(DType::F32);
}

Tensor sliding_logits(SegModel& model, const Tensor& images, const InferOptions& opt) {
    const int64_t height = images.size(2), width = images.size(3);
    const std::vector<int64_t> ys = window_starts(height, opt.crop_h, opt.effective_stride_h());
    const std::vector<int64_t> xs = window_starts(width, opt.crop_w, opt.effective_stride_w());
    // Windows form a grid, so the number covering pixel (y, x) is rows(y) * cols(x); computed on the
    // host in integers (exact) and divided on the device.
    std::vector<float> rows(size_t(height), 0.f), cols(size_t(width), 0.f);
    for (int64_t y : ys)
        for (int64_t i = y; i < std::min(y + opt.crop_h, height); ++i) rows[size_t(i)] += 1;
    for (int64_t x : xs)
        for (int64_t i = x; i < std::min(x + opt.crop_w, width); ++i) cols[size_t(i)] += 1;
    std::vector<float> count(size_t(height * width));
    for (int64_t y = 0; y < height; ++y)
        for (int64_t x = 0; x < width; ++x) count[size_t(y * width + x)] = rows[size_t(y)] * cols[size_t(x)];

    Tensor sum;
    for (int64_t y : ys) {
        for (int64_t x : xs) {
            const int64_t h = std::min(opt.crop_h, height - y), w = std::min(opt.crop_w, width - x);
            const Tensor window = images.narrow(2, y, h).narrow(3, x, w).contiguous();
            const Tensor logits = forward_logits(model, window);
            if (!sum.defined())
                sum = zeros({images.size(0), logits.size(1), height, width}, {DType::F32, images.device()});
            Tensor dst = sum.narrow(2, y, h).narrow(3, x, w);
            ops::add_(dst, logits);
        }
    }
    return ops::div(sum, from_vector(count, {1, 1, height, width}, images.device()));
}

}  // namespace

Tensor infer_logits(SegModel& model, const Tensor& images, const InferOptions& opt) {
    opt.validate();
    SEGCORE_CHECK(images.defined() && images.dim() == 4 && images.numel() > 0,
                  "inference: expected images (N, C, H, W) with at least one pixel, got ",
                  images.defined() ? images.meta_str() : std::string("an undefined tensor"));
    autograd::NoGradGuard no_grad;
    if (opt.mode == "whole") return forward_logits(model, images);
    return sliding_logits(model, images, opt);
}

Tensor infer_probabilities(SegModel& model, const Tensor& images, const InferOptions& opt) {
    opt.validate();
    autograd::NoGradGuard no_grad;
    // One variant: exactly softmax(logits), so whole-mode results equal softmax(model(x)) bit for bit.
    if (opt.single_variant()) return ops::softmax(infer_logits(model, images, opt), 1);

    SEGCORE_CHECK(images.defined() && images.dim() == 4 && images.numel() > 0,
                  "inference: expected images (N, C, H, W) with at least one pixel, got ",
                  images.defined() ? images.meta_str() : std::string("an undefined tensor"));
    const int64_t height = images.size(2), width = images.size(3);
    Tensor acc;
    int64_t variants = 0;
    for (double s : opt.scales) {
        Tensor scaled = images;
        if (s != 1.0) {
            const int64_t h = std::max<int64_t>(1, std::llround(double(height) * s));
            const int64_t w = std::max<int64_t>(1, std::llround(double(width) * s));
            scaled = ops::interpolate(images, ops::InterpolateOptions::size(h, w));
        }
        for (int f = 0; f < (opt.flip ? 2 : 1); ++f) {
            Tensor logits = infer_logits(model, f ? ops::flip(scaled, 3) : scaled, opt);
            if (f) logits = ops::flip(logits, 3);
            if (s != 1.0) logits = ops::interpolate(logits, ops::InterpolateOptions::size(height, width));
            Tensor p = ops::softmax(logits, 1);
            if (acc.defined())
                ops::add_(acc, p);
            else
                acc = p;  // a fresh tensor: accumulating into it changes nothing else
            ++variants;
        }
    }
    return ops::div_(acc, double(variants));
}

}  // namespace segcore::seg
