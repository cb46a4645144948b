// ops::max_pool2d / max_unpool2d and their gradients (kernels/pool/max_pool2d.h): validation,
// allocation, dispatch. f16/bf16 on the CPU run through f32 (max is a selection: exact).
#include "kernels/pool/max_pool2d.h"

#include "kernels/common/dispatch.h"

namespace segcore::ops {

namespace {

constexpr const char* kOp = "max_pool2d";

bool is_f32_or_f64(DType t) { return t == DType::F32 || t == DType::F64; }

void check_indices(const char* op, const Tensor& idx, const Tensor& like) {
    SEGCORE_CHECK(idx.defined(), op, ": the indices are undefined");
    SEGCORE_CHECK(idx.dtype() == DType::I64, op, ": the indices must be i64 (as returned by max_pool2d), got ",
                  dtype_name(idx.dtype()));
    SEGCORE_CHECK(idx.device() == like.device(), op, ": the indices are on ", idx.device().str(),
                  " but the values are on ", like.device().str());
}

}  // namespace

kernels::Pool2dParams max_pool2d_params(const Shape& x, const MaxPool2dOptions& o) {
    SEGCORE_CHECK(x.size() == 4, kOp, ": the input must be (N, C, H, W), got ", shape_str(x));
    SEGCORE_CHECK(o.kh >= 1 && o.kw >= 1, kOp, ": kernel size must be >= 1, got (", o.kh, ", ", o.kw, ")");
    const int64_t sh = o.stride_h < 0 ? o.kh : o.stride_h, sw = o.stride_w < 0 ? o.kw : o.stride_w;
    SEGCORE_CHECK(sh >= 1 && sw >= 1, kOp, ": stride must be >= 1, got (", sh, ", ", sw, ")");
    SEGCORE_CHECK(o.dil_h >= 1 && o.dil_w >= 1, kOp, ": dilation must be >= 1, got (", o.dil_h, ", ", o.dil_w, ")");
    SEGCORE_CHECK(o.pad_h >= 0 && o.pad_w >= 0, kOp, ": padding must be >= 0, got (", o.pad_h, ", ", o.pad_w, ")");
    SEGCORE_CHECK(o.pad_h <= o.kh / 2 && o.pad_w <= o.kw / 2, kOp, ": padding (", o.pad_h, ", ", o.pad_w,
                  ") must be at most half the kernel size (", o.kh, ", ", o.kw, ")");
    kernels::Pool2dParams p;
    p.n = x[0], p.c = x[1], p.h = x[2], p.w = x[3];
    p.kh = o.kh, p.kw = o.kw, p.stride_h = sh, p.stride_w = sw, p.pad_h = o.pad_h, p.pad_w = o.pad_w;
    p.dil_h = o.dil_h, p.dil_w = o.dil_w, p.ceil_mode = o.ceil_mode;
    p.oh = kernels::pool_output_size(p.h, p.kh, p.pad_h, sh, p.dil_h, p.ceil_mode);
    p.ow = kernels::pool_output_size(p.w, p.kw, p.pad_w, sw, p.dil_w, p.ceil_mode);
    SEGCORE_CHECK(p.oh >= 1 && p.ow >= 1, kOp, ": the output would be ", p.oh, " x ", p.ow, " for the input ",
                  shape_str(x), ": the padded input (", p.h + 2 * p.pad_h, " x ", p.w + 2 * p.pad_w,
                  ") is smaller than the dilated kernel (", p.dil_h * (p.kh - 1) + 1, " x ", p.dil_w * (p.kw - 1) + 1,
                  ")");
    return p;
}

std::pair<Tensor, Tensor> max_pool2d(const Tensor& x_in, const MaxPool2dOptions& opt) {
    check_defined(kOp, {&x_in});
    check_floating(kOp, x_in, "input");
    const kernels::Pool2dParams p = max_pool2d_params(x_in.shape(), opt);
    if (x_in.is_cpu() && is_half(x_in.dtype())) {
        auto [y, idx] = max_pool2d(x_in.to(DType::F32), opt);
        return {y.to(x_in.dtype()), idx};
    }
    const Tensor x = x_in.contiguous();
    Tensor y = empty({p.n, p.c, p.oh, p.ow}, {x.dtype(), x.device()});
    Tensor idx = empty({p.n, p.c, p.oh, p.ow}, {DType::I64, x.device()});
    if (y.numel() == 0) return {y, idx};
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), kOp, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::max_pool2d_forward_cuda<T>(p, x.data<T>(), y.data<T>(), idx.data<int64_t>(), current_stream());
        }));
    } else {
        visit_float_dtype(x.dtype(), kOp, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
                kernels::max_pool2d_forward_cpu<T>(p, x.data<T>(), y.data<T>(), idx.data<int64_t>());
        });
    }
    return {y, idx};
}

Tensor max_pool2d_backward(const Tensor& dy_in, const Tensor& idx_in, const Shape& x_shape,
                           const MaxPool2dOptions& opt) {
    const char* op = "max_pool2d_backward";
    check_defined(op, {&dy_in});
    check_floating(op, dy_in, "dy");
    check_indices(op, idx_in, dy_in);
    const kernels::Pool2dParams p = max_pool2d_params(x_shape, opt);
    const Shape ys{p.n, p.c, p.oh, p.ow};
    SEGCORE_CHECK(dy_in.shape() == ys, op, ": dy must be ", shape_str(ys), ", got ", shape_str(dy_in.shape()));
    SEGCORE_CHECK(idx_in.shape() == ys, op, ": the indices must be ", shape_str(ys), ", got ",
                  shape_str(idx_in.shape()));
    if (dy_in.is_cpu() && !is_f32_or_f64(dy_in.dtype()))
        return max_pool2d_backward(dy_in.to(DType::F32), idx_in, x_shape, opt).to(dy_in.dtype());
    const Tensor dy = dy_in.contiguous(), idx = idx_in.contiguous();
    Tensor dx = empty(x_shape, {dy.dtype(), dy.device()});
    if (dx.numel() == 0) return dx;
    if (dy.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(dy.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::max_pool2d_backward_cuda<T>(p, dy.data<T>(), idx.data<int64_t>(), dx.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(dy.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
                kernels::max_pool2d_backward_cpu<T>(p, dy.data<T>(), idx.data<int64_t>(), dx.data<T>());
        });
    }
    return dx;
}

Tensor max_unpool2d(const Tensor& x_in, const Tensor& idx_in, int64_t out_h, int64_t out_w) {
    const char* op = "max_unpool2d";
    check_defined(op, {&x_in});
    check_floating(op, x_in, "input");
    check_indices(op, idx_in, x_in);
    SEGCORE_CHECK(x_in.dim() == 4, op, ": the input must be (N, C, H, W), got ", shape_str(x_in.shape()));
    SEGCORE_CHECK(idx_in.shape() == x_in.shape(), op, ": the indices ", shape_str(idx_in.shape()),
                  " must have the input's shape ", shape_str(x_in.shape()));
    SEGCORE_CHECK(out_h >= 1 && out_w >= 1, op, ": the output size must be >= 1, got ", out_h, " x ", out_w);
    if (x_in.is_cpu() && !is_f32_or_f64(x_in.dtype()))
        return max_unpool2d(x_in.to(DType::F32), idx_in, out_h, out_w).to(x_in.dtype());
    kernels::Pool2dParams p;
    p.n = x_in.size(0), p.c = x_in.size(1), p.h = x_in.size(2), p.w = x_in.size(3), p.oh = out_h, p.ow = out_w;
    const Tensor x = x_in.contiguous(), idx = idx_in.contiguous();
    Tensor y = empty({p.n, p.c, out_h, out_w}, {x.dtype(), x.device()});
    if (y.numel() == 0) return y;
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::max_unpool2d_forward_cuda<T>(p, x.data<T>(), idx.data<int64_t>(), y.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
                kernels::max_unpool2d_forward_cpu<T>(p, x.data<T>(), idx.data<int64_t>(), y.data<T>());
        });
    }
    return y;
}

Tensor max_unpool2d_backward(const Tensor& dy_in, const Tensor& idx_in) {
    const char* op = "max_unpool2d_backward";
    check_defined(op, {&dy_in});
    check_floating(op, dy_in, "dy");
    check_indices(op, idx_in, dy_in);
    SEGCORE_CHECK(
        dy_in.dim() == 4 && idx_in.dim() == 4 && dy_in.size(0) == idx_in.size(0) && dy_in.size(1) == idx_in.size(1), op,
        ": dy ", shape_str(dy_in.shape()), " and the indices ", shape_str(idx_in.shape()),
        " must both be (N, C, ., .) with the same N and C");
    if (dy_in.is_cpu() && !is_f32_or_f64(dy_in.dtype()))
        return max_unpool2d_backward(dy_in.to(DType::F32), idx_in).to(dy_in.dtype());
    kernels::Pool2dParams p;
    p.n = idx_in.size(0), p.c = idx_in.size(1), p.h = idx_in.size(2), p.w = idx_in.size(3);
    p.oh = dy_in.size(2), p.ow = dy_in.size(3);
    const Tensor dy = dy_in.contiguous(), idx = idx_in.contiguous();
    Tensor dx = empty(idx.shape(), {dy.dtype(), dy.device()});
    if (dx.numel() == 0) return dx;
    if (dy.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(dy.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::max_unpool2d_backward_cuda<T>(p, dy.data<T>(), idx.data<int64_t>(), dx.data<T>(),
                                                   current_stream());
        }));
    } else {
        visit_float_dtype(dy.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
                kernels::max_unpool2d_backward_cpu<T>(p, dy.data<T>(), idx.data<int64_t>(), dx.data<T>());
        });
    }
    return dx;
}

}  // namespace segcore::ops
