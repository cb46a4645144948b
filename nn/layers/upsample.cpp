#include "nn/layers/upsample.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "core/error.h"

namespace segcore::nn {

namespace {

const char* mode_name(kernels::InterpMode m) {
    switch (m) {
        case kernels::InterpMode::Nearest:
            return "nearest";
        case kernels::InterpMode::NearestExact:
            return "nearest-exact";
        case kernels::InterpMode::Bilinear:
            return "bilinear";
    }
    return "?";
}

// Python's repr of a float: the shortest text that reads back exactly, with ".0" on whole numbers.
std::string py_float(double v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::string s(buf, r.ptr);
    if (s.find_first_of(".eni") == std::string::npos) s += ".0";
    return s;
}

}  // namespace

Upsample::Upsample(const ops::InterpolateOptions& o) : Module("Upsample"), opt(o) {
    // The same rules ops::interpolate applies at every call, checked once where the model is built.
    const bool by_size = o.out_h > 0 || o.out_w > 0, by_scale = o.scale_h > 0 || o.scale_w > 0;
    SEGCORE_CHECK(by_size != by_scale, "Upsample: give either an output size or scale factors, got size (", o.out_h,
                  ", ", o.out_w, ") and scale (", o.scale_h, ", ", o.scale_w, ")");
    if (by_size)
        SEGCORE_CHECK(o.out_h >= 1 && o.out_w >= 1, "Upsample: the output size must be >= 1, got (", o.out_h, ", ",
                      o.out_w, ")");
    else
        SEGCORE_CHECK(o.scale_h > 0 && o.scale_w > 0 && std::isfinite(o.scale_h) && std::isfinite(o.scale_w),
                      "Upsample: scale factors must be finite and > 0, got (", o.scale_h, ", ", o.scale_w, ")");
    SEGCORE_CHECK(!o.align_corners || o.mode == kernels::InterpMode::Bilinear,
                  "Upsample: align_corners can only be set with mode bilinear, got mode ", mode_name(o.mode));
}

Variable Upsample::forward(const Variable& x) { return autograd::interpolate(x, opt); }

std::string Upsample::extra_repr() const {
    // PyTorch prints one number for a single value and a tuple for two.
    std::ostringstream os;
    if (opt.scale_h > 0) {
        os << "scale_factor=";
        if (opt.scale_h == opt.scale_w)
            os << py_float(opt.scale_h);
        else
            os << "(" << py_float(opt.scale_h) << ", " << py_float(opt.scale_w) << ")";
    } else {
        os << "size=";
        if (opt.out_h == opt.out_w)
            os << opt.out_h;
        else
            os << "(" << opt.out_h << ", " << opt.out_w << ")";
    }
    os << ", mode=" << mode_name(opt.mode);
    return os.str();
}

}  // namespace segcore::nn
