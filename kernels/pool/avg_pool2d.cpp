// ops::avg_pool2d / adaptive_avg_pool2d and their gradients (kernels/pool/avg_pool2d.h):
// validation, allocation, dispatch. f16/bf16 on the CPU run through f32 (sums in f32, rounded once).
#include "kernels/pool/avg_pool2d.h"

#include "kernels/common/dispatch.h"

namespace segcore::ops {

namespace {

bool is_f32_or_f64(DType t) { return t == DType::F32 || t == DType::F64; }

enum class Kind { Avg, Adaptive };

// One dispatch for the four kernels: forward maps x -> y, backward dy -> dx.
Tensor run(Kind kind, bool backward, const char* op, const kernels::Pool2dParams& p, const Tensor& in,
           const Shape& out_shape) {
    Tensor out = empty(out_shape, {in.dtype(), in.device()});
    if (out.numel() == 0) return out;
    if (in.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(in.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            const T* a = in.data<T>();
            T* b = out.data<T>();
            if (kind == Kind::Avg) {
                if (backward)
                    kernels::avg_pool2d_backward_cuda<T>(p, a, b, current_stream());
                else
                    kernels::avg_pool2d_forward_cuda<T>(p, a, b, current_stream());
            } else {
                if (backward)
                    kernels::adaptive_avg_pool2d_backward_cuda<T>(p, a, b, current_stream());
                else
                    kernels::adaptive_avg_pool2d_forward_cuda<T>(p, a, b, current_stream());
            }
        }));
    } else {
        visit_float_dtype(in.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                const T* a = in.data<T>();
                T* b = out.data<T>();
                if (kind == Kind::Avg) {
                    if (backward)
                        kernels::avg_pool2d_backward_cpu<T>(p, a, b);
                    else
                        kernels::avg_pool2d_forward_cpu<T>(p, a, b);
                } else {
                    if (backward)
                        kernels::adaptive_avg_pool2d_backward_cpu<T>(p, a, b);
                    else
                        kernels::adaptive_avg_pool2d_forward_cpu<T>(p, a, b);
                }
            }
        });
    }
    return out;
}

}  // namespace

kernels::Pool2dParams avg_pool2d_params(const Shape& x, const AvgPool2dOptions& o) {
    const char* op = "avg_pool2d";
    SEGCORE_CHECK(x.size() == 4, op, ": the input must be (N, C, H, W), got ", shape_str(x));
    SEGCORE_CHECK(o.kh >= 1 && o.kw >= 1, op, ": kernel size must be >= 1, got (", o.kh, ", ", o.kw, ")");
    const int64_t sh = o.stride_h < 0 ? o.kh : o.stride_h, sw = o.stride_w < 0 ? o.kw : o.stride_w;
    SEGCORE_CHECK(sh >= 1 && sw >= 1, op, ": stride must be >= 1, got (", sh, ", ", sw, ")");
    SEGCORE_CHECK(o.pad_h >= 0 && o.pad_w >= 0, op, ": padding must be >= 0, got (", o.pad_h, ", ", o.pad_w, ")");
    SEGCORE_CHECK(o.pad_h <= o.kh / 2 && o.pad_w <= o.kw / 2, op, ": padding (", o.pad_h, ", ", o.pad_w,
                  ") must be at most half the kernel size (", o.kh, ", ", o.kw, ")");
    kernels::Pool2dParams p;
    p.n = x[0], p.c = x[1], p.h = x[2], p.w = x[3];
    p.kh = o.kh, p.kw = o.kw, p.stride_h = sh, p.stride_w = sw, p.pad_h = o.pad_h, p.pad_w = o.pad_w;
    p.ceil_mode = o.ceil_mode, p.count_include_pad = o.count_include_pad;
    p.oh = kernels::pool_output_size(p.h, p.kh, p.pad_h, sh, 1, p.ceil_mode);
    p.ow = kernels::pool_output_size(p.w, p.kw, p.pad_w, sw, 1, p.ceil_mode);
    SEGCORE_CHECK(p.oh >= 1 && p.ow >= 1, op, ": the output would be ", p.oh, " x ", p.ow, " for the input ",
                  shape_str(x), ": the padded input (", p.h + 2 * p.pad_h, " x ", p.w + 2 * p.pad_w,
                  ") is smaller than the kernel (", p.kh, " x ", p.kw, ")");
    return p;
}

Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& opt) {
    const char* op = "avg_pool2d";
    check_defined(op, {&x});
    check_floating(op, x, "input");
    const kernels::Pool2dParams p = avg_pool2d_params(x.shape(), opt);
    if (x.is_cpu() && !is_f32_or_f64(x.dtype())) return avg_pool2d(x.to(DType::F32), opt).to(x.dtype());
    return run(Kind::Avg, false, op, p, x.contiguous(), {p.n, p.c, p.oh, p.ow});
}

Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const AvgPool2dOptions& opt) {
    const char* op = "avg_pool2d_backward";
    check_defined(op, {&dy});
    check_floating(op, dy, "dy");
    const kernels::Pool2dParams p = avg_pool2d_params(x_shape, opt);
    const Shape ys{p.n, p.c, p.oh, p.ow};
    SEGCORE_CHECK(dy.shape() == ys, op, ": dy must be ", shape_str(ys), ", got ", shape_str(dy.shape()));
    if (dy.is_cpu() && !is_f32_or_f64(dy.dtype()))
        return avg_pool2d_backward(dy.to(DType::F32), x_shape, opt).to(dy.dtype());
    return run(Kind::Avg, true, op, p, dy.contiguous(), x_shape);
}

kernels::Pool2dParams adaptive_avg_pool2d_params(const Shape& x, int64_t out_h, int64_t out_w) {
    const char* op = "adaptive_avg_pool2d";
    SEGCORE_CHECK(x.size() == 4, op, ": the input must be (N, C, H, W), got ", shape_str(x));
    SEGCORE_CHECK(out_h >= 1 && out_w >= 1, op, ": the output size must be >= 1, got ", out_h, " x ", out_w);
    SEGCORE_CHECK(x[2] >= 1 && x[3] >= 1, op, ": the input ", shape_str(x), " has an empty plane");
    kernels::Pool2dParams p;
    p.n = x[0], p.c = x[1], p.h = x[2], p.w = x[3], p.oh = out_h, p.ow = out_w;
    return p;
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
    const char* op = "adaptive_avg_pool2d";
    check_defined(op, {&x});
    check_floating(op, x, "input");
    const kernels::Pool2dParams p = adaptive_avg_pool2d_params(x.shape(), out_h, out_w);
    if (x.is_cpu() && !is_f32_or_f64(x.dtype()))
        return adaptive_avg_pool2d(x.to(DType::F32), out_h, out_w).to(x.dtype());
    return run(Kind::Adaptive, false, op, p, x.contiguous(), {p.n, p.c, p.oh, p.ow});
}

Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape) {
    const char* op = "adaptive_avg_pool2d_backward";
    check_defined(op, {&dy});
    check_floating(op, dy, "dy");
    SEGCORE_CHECK(dy.dim() == 4, op, ": dy must be (N, C, P, Q), got ", shape_str(dy.shape()));
    const kernels::Pool2dParams p = adaptive_avg_pool2d_params(x_shape, dy.size(2), dy.size(3));
    SEGCORE_CHECK(dy.size(0) == p.n && dy.size(1) == p.c, op, ": dy ", shape_str(dy.shape()),
                  " does not match the input ", shape_str(x_shape));
    if (dy.is_cpu() && !is_f32_or_f64(dy.dtype()))
        return adaptive_avg_pool2d_backward(dy.to(DType::F32), x_shape).to(dy.dtype());
    return run(Kind::Adaptive, true, op, p, dy.contiguous(), x_shape);
}

}  // namespace segcore::ops
