// ops:: reductions: validate dims, describe the kept / reduced index spaces, allocate, dispatch.
#include <cmath>
#include <string>

#include "kernels/common/dispatch.h"
#include "kernels/reduce/reduce.h"

namespace segcore::ops {

namespace {

struct ReducePlan {
    kernels::ReduceParams p;
    Shape out_shape;
};

std::string dims_str(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
    return s + "]";
}

// Kept dims (x order) form the outer space, reduced dims (x order) the inner one, so output o and
// reduced index r enumerate their spaces row-major, as PyTorch's flat indices do.
ReducePlan plan_reduce(const char* op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    const int64_t nd = x.dim();
    std::vector<bool> reduced(size_t(nd), dims.empty());
    for (int64_t d : dims) {
        if (nd == 0) {  // a 0-d tensor accepts dim 0 / -1, as in PyTorch
            SEGCORE_CHECK(d == 0 || d == -1, op, ": dim ", d, " is out of range for a 0-d tensor");
            continue;
        }
        SEGCORE_CHECK(d >= -nd && d < nd, op, ": dim ", d, " is out of range for shape ", shape_str(x.shape()),
                      " (expected a dim in [", -nd, ", ", nd - 1, "])");
        const int64_t w = d < 0 ? d + nd : d;
        SEGCORE_CHECK(!reduced[size_t(w)] || dims.empty(), op, ": dim ", w, " appears more than once in dims ",
                      dims_str(dims));
        reduced[size_t(w)] = true;
    }
    Shape ks, rs;
    Strides kst, rst;
    ReducePlan plan;
    for (int64_t d = 0; d < nd; ++d) {
        if (reduced[size_t(d)]) {
            rs.push_back(x.size(d));
            rst.push_back(x.stride(d));
            if (keepdim) plan.out_shape.push_back(1);
        } else {
            ks.push_back(x.size(d));
            kst.push_back(x.stride(d));
            plan.out_shape.push_back(x.size(d));
        }
    }
    plan.p.outer = make_geometry<1>(ks, {&kst});
    plan.p.inner = make_geometry<1>(rs, {&rst});
    plan.p.num_outputs = plan.p.outer.numel;
    plan.p.reduce_len = plan.p.inner.numel;
    return plan;
}

void check_nonempty(const char* op, const Tensor& x, const ReducePlan& plan, const std::vector<int64_t>& dims) {
    SEGCORE_CHECK(plan.p.reduce_len > 0, op, ": cannot reduce over zero elements (shape ", shape_str(x.shape()),
                  ", dims ", dims_str(dims), "); the result has no identity");
}

Tensor reduce_impl(const char* op, kernels::ReduceOp rop, const Tensor& x, const std::vector<int64_t>& dims,
                   bool keepdim) {
    check_defined(op, {&x});
    const bool minmax = rop == kernels::ReduceOp::Max || rop == kernels::ReduceOp::Min;
    if (!minmax || x.is_cuda()) check_floating(op, x, "x");
    SEGCORE_CHECK(x.dtype() != DType::Bool, op, ": expected a numeric tensor, got bool");
    const ReducePlan plan = plan_reduce(op, x, dims, keepdim);
    if (minmax) check_nonempty(op, x, plan, dims);
    Tensor y = empty(plan.out_shape, {x.dtype(), x.device()});
    if (y.numel() == 0) return y;
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::reduce_cuda<T>(plan.p, rop, x.data<T>(), y.data<T>(), current_stream());
        }));
    } else {
        visit_dtype(x.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (!std::is_same_v<T, bool>) kernels::reduce_cpu<T>(plan.p, rop, x.data<T>(), y.data<T>());
        });
    }
    return y;
}

std::pair<Tensor, Tensor> var_mean_impl(const char* op, const Tensor& x, const std::vector<int64_t>& dims,
                                        int64_t correction, bool keepdim, bool take_sqrt, bool want_mean) {
    check_defined(op, {&x});
    check_floating(op, x, "x");
    SEGCORE_CHECK(correction >= 0, op, ": expected correction >= 0, got ", correction);
    const ReducePlan plan = plan_reduce(op, x, dims, keepdim);
    const kernels::VarParams vp{correction, take_sqrt};
    Tensor var = empty(plan.out_shape, {x.dtype(), x.device()});
    Tensor mean = want_mean ? empty(plan.out_shape, {x.dtype(), x.device()}) : Tensor();
    if (var.numel() == 0) return {var, mean};
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::var_mean_cuda<T>(plan.p, vp, x.data<T>(), var.data<T>(), want_mean ? mean.data<T>() : nullptr,
                                      current_stream());
        }));
    } else {
        visit_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::var_mean_cpu<T>(plan.p, vp, x.data<T>(), var.data<T>(), want_mean ? mean.data<T>() : nullptr);
        });
    }
    return {var, mean};
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce_impl("sum", kernels::ReduceOp::Sum, x, dims, keepdim);
}
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce_impl("mean", kernels::ReduceOp::Mean, x, dims, keepdim);
}
Tensor max(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce_impl("max", kernels::ReduceOp::Max, x, dims, keepdim);
}
Tensor min(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce_impl("min", kernels::ReduceOp::Min, x, dims, keepdim);
}

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
    const char* op = "argmax";
    check_defined(op, {&x});
    SEGCORE_CHECK(x.dtype() != DType::Bool, op, ": expected a numeric tensor, got bool");
    if (x.is_cuda()) check_floating(op, x, "x");
    const std::vector<int64_t> dims = dim ? std::vector<int64_t>{*dim} : std::vector<int64_t>{};
    ReducePlan plan = plan_reduce(op, x, dims, keepdim);
    check_nonempty(op, x, plan, dims);
    if (!dim && !keepdim) plan.out_shape.clear();  // flat index: a 0-d result
    Tensor y = empty(plan.out_shape, {DType::I64, x.device()});
    if (y.numel() == 0) return y;
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::argmax_cuda<T>(plan.p, x.data<T>(), y.data<int64_t>(), current_stream());
        }));
    } else {
        visit_dtype(x.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (!std::is_same_v<T, bool>) kernels::argmax_cpu<T>(plan.p, x.data<T>(), y.data<int64_t>());
        });
    }
    return y;
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
    return var_mean_impl("var", x, dims, correction, keepdim, false, false).first;
}
Tensor std(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
    return var_mean_impl("std", x, dims, correction, keepdim, true, false).first;
}
std::pair<Tensor, Tensor> var_mean(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction,
                                   bool keepdim) {
    return var_mean_impl("var_mean", x, dims, correction, keepdim, false, true);
}
std::pair<Tensor, Tensor> std_mean(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction,
                                   bool keepdim) {
    return var_mean_impl("std_mean", x, dims, correction, keepdim, true, true);
}

}  // namespace segcore::ops
