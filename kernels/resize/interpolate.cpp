// ops::interpolate and its gradient (kernels/resize/interpolate.h): validation, output size from
// size or scale factors, dispatch. f16/bf16 on the CPU run through f32.
#include "kernels/resize/interpolate.h"

#include <cmath>

#include "kernels/common/dispatch.h"

namespace segcore::ops {

namespace {

constexpr const char* kOp = "interpolate";

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

bool is_f32_or_f64(DType t) { return t == DType::F32 || t == DType::F64; }

Tensor run(bool backward, const char* op, const kernels::InterpParams& p, const Tensor& in, const Shape& out_shape) {
    Tensor out = empty(out_shape, {in.dtype(), in.device()});
    if (out.numel() == 0) return out;
    if (in.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(in.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if (backward)
                kernels::interpolate_backward_cuda<T>(p, in.data<T>(), out.data<T>(), current_stream());
            else
                kernels::interpolate_forward_cuda<T>(p, in.data<T>(), out.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(in.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                if (backward)
                    kernels::interpolate_backward_cpu<T>(p, in.data<T>(), out.data<T>());
                else
                    kernels::interpolate_forward_cpu<T>(p, in.data<T>(), out.data<T>());
            }
        });
    }
    return out;
}

}  // namespace

kernels::InterpParams interpolate_params(const Shape& x, const InterpolateOptions& o) {
    SEGCORE_CHECK(x.size() == 4, kOp, ": the input must be (N, C, H, W), got ", shape_str(x));
    SEGCORE_CHECK(x[2] >= 1 && x[3] >= 1, kOp, ": the input ", shape_str(x), " has an empty plane");
    SEGCORE_CHECK(!(o.align_corners && o.mode != kernels::InterpMode::Bilinear), kOp,
                  ": align_corners can only be set with mode bilinear, got mode ", mode_name(o.mode));
    const bool by_size = o.out_h > 0 || o.out_w > 0;
    const bool by_scale = o.scale_h > 0 || o.scale_w > 0;
    SEGCORE_CHECK(by_size != by_scale, kOp, ": give either the output size or the scale factors, got size (", o.out_h,
                  ", ", o.out_w, ") and scale (", o.scale_h, ", ", o.scale_w, ")");
    kernels::InterpParams p;
    p.n = x[0], p.c = x[1], p.ih = x[2], p.iw = x[3];
    p.mode = o.mode, p.align_corners = o.align_corners;
    if (by_size) {
        SEGCORE_CHECK(o.out_h >= 1 && o.out_w >= 1, kOp, ": the output size must be >= 1, got (", o.out_h, ", ",
                      o.out_w, ")");
        p.oh = o.out_h, p.ow = o.out_w;
    } else {
        SEGCORE_CHECK(o.scale_h > 0 && o.scale_w > 0 && std::isfinite(o.scale_h) && std::isfinite(o.scale_w), kOp,
                      ": scale factors must be finite and > 0, got (", o.scale_h, ", ", o.scale_w, ")");
        p.oh = int64_t(std::floor(double(p.ih) * o.scale_h));
        p.ow = int64_t(std::floor(double(p.iw) * o.scale_w));
        SEGCORE_CHECK(p.oh >= 1 && p.ow >= 1, kOp, ": scale factors (", o.scale_h, ", ", o.scale_w, ") turn the input ",
                      p.ih, " x ", p.iw, " into an empty output ", p.oh, " x ", p.ow);
        p.scale_h = o.scale_h, p.scale_w = o.scale_w;
    }
    return p;
}

Tensor interpolate(const Tensor& x, const InterpolateOptions& opt) {
    check_defined(kOp, {&x});
    check_floating(kOp, x, "input");
    const kernels::InterpParams p = interpolate_params(x.shape(), opt);
    if (x.is_cpu() && !is_f32_or_f64(x.dtype())) return interpolate(x.to(DType::F32), opt).to(x.dtype());
    return run(false, kOp, p, x.contiguous(), {p.n, p.c, p.oh, p.ow});
}

Tensor interpolate_backward(const Tensor& dy, const Shape& x_shape, const InterpolateOptions& opt) {
    const char* op = "interpolate_backward";
    check_defined(op, {&dy});
    check_floating(op, dy, "dy");
    const kernels::InterpParams p = interpolate_params(x_shape, opt);
    const Shape ys{p.n, p.c, p.oh, p.ow};
    SEGCORE_CHECK(dy.shape() == ys, op, ": dy must be ", shape_str(ys), ", got ", shape_str(dy.shape()));
    if (dy.is_cpu() && !is_f32_or_f64(dy.dtype()))
        return interpolate_backward(dy.to(DType::F32), x_shape, opt).to(dy.dtype());
    return run(true, op, p, dy.contiguous(), x_shape);
}

}  // namespace segcore::ops
