// The smallest input a model runs on (seg/inference/input_size.h).
#include "seg/inference/input_size.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "core/error.h"

namespace segcore::seg {

namespace {

constexpr int64_t kMaxProbe = 1024;

bool runs(SegModel& model, int64_t channels, int64_t size, Device device) {
    try {
        model.forward(autograd::Variable(zeros({1, channels, size, size}, {DType::F32, device})));
        return true;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

std::string InputSizeRule::str() const {
    std::string s = "at least " + std::to_string(min_size) + " x " + std::to_string(min_size) + " pixels";
    if (divisor > 1)
        s += ", with H and W equal to " + std::to_string(min_size) + " + a multiple of " + std::to_string(divisor);
    return s;
}

InputSizeRule probe_input_size(SegModel& model, int64_t channels, Device device) {
    autograd::NoGradGuard no_grad;
    InputSizeRule rule;
    int64_t hi = 1;
    while (hi <= kMaxProbe && !runs(model, channels, hi, device)) hi *= 2;
    if (hi > kMaxProbe) return rule;  // fails at every size: not a size problem
    int64_t lo = hi / 2;              // fails (or 0)
    while (hi - lo > 1) {
        const int64_t mid = (lo + hi) / 2;
        (runs(model, channels, mid, device) ? hi : lo) = mid;
    }
    rule.min_size = hi;
    // Models that need H, W of a certain form (minimum + k * d) fail at the sizes in between.
    for (int64_t d = 1; d <= 64; ++d)
        if (runs(model, channels, hi + d, device)) {
            rule.divisor = d;
            break;
        }
    return rule;
}

std::pair<int64_t, int64_t> smallest_view(int64_t h, int64_t w, const InferOptions& opt) {
    int64_t min_h = h, min_w = w;
    for (double s : opt.scales) {
        // The rounding of infer_probabilities (seg/inference/infer.cpp).
        int64_t sh = s == 1.0 ? h : std::max<int64_t>(1, std::llround(double(h) * s));
        int64_t sw = s == 1.0 ? w : std::max<int64_t>(1, std::llround(double(w) * s));
        // Sliding windows are clipped to the image, and the last one is moved back inside it: every
        // window is min(crop, size) on each axis.
        if (opt.mode == "sliding") {
            sh = std::min(sh, opt.crop_h);
            sw = std::min(sw, opt.crop_w);
        }
        min_h = std::min(min_h, sh);
        min_w = std::min(min_w, sw);
    }
    return {min_h, min_w};
}

void explain_input_size_failure(SegModel& model, const Tensor& images, const InferOptions& opt,
                                const std::string& what) {
    if (!images.defined() || images.dim() != 4) return;
    const int64_t h = images.size(2), w = images.size(3);
    const auto [vh, vw] = smallest_view(h, w, opt);
    const InputSizeRule rule = probe_input_size(model, images.size(1), images.device());
    if (!rule.known() || (rule.accepts(vh) && rule.accepts(vw))) return;
    std::string view;
    if (vh != h || vw != w)
        view =
            " (its smallest view under " + opt.str() + " is " + std::to_string(vw) + " x " + std::to_string(vh) + ")";
    SEGCORE_THROW(what, ": the image is ", w, " x ", h, " (width x height)", view,
                  ", too small for this model: it needs ", rule.str(),
                  ". Use larger images, a larger --crop or scales closer to 1.");
}

}  // namespace segcore::seg
