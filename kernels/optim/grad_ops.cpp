// ops:: multi-tensor gradient helpers: validate, gather pointers, dispatch (kernels/optim/grad_ops.h).
#include <type_traits>

#include "kernels/common/dispatch.h"
#include "kernels/optim/grad_ops.h"
#include "kernels/optim/multi_tensor_check.h"

namespace segcore::ops {

namespace {

using detail_mt::check_list;
using detail_mt::check_scalar;
using detail_mt::gather;

// CPU f32/f64 and CUDA f32, one call on one device.
template <typename F>
void dispatch_list(const char* op, const Tensor& first, F&& f) {
    if (first.is_cuda()) {
        SEGCORE_CHECK(first.dtype() == DType::F32, op, ": the CUDA multi-tensor helpers take f32 tensors, got ",
                      dtype_name(first.dtype()));
        SEGCORE_CUDA_CALL(f(TypeTag<float>{}, true));
        return;
    }
    visit_float_dtype(first.dtype(), op, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
            f(tag, false);
        else
            SEGCORE_THROW(op, ": the CPU multi-tensor helpers take f32 or f64 tensors, got ",
                          dtype_name(first.dtype()));
    });
}

// Norm (and optionally the clip coefficient) of a checked, non-empty list, as 0-d tensors.
void l2_norm_into(const char* op, const std::vector<Tensor>& xs, Tensor& norm, Tensor* coef, double max_norm) {
    dispatch_list(op, xs[0], [&](auto tag, bool cuda) {
        using T = typename decltype(tag)::type;
        const kernels::TensorLists<T> lists = gather<T>({&xs});
        T* coef_ptr = coef ? coef->data<T>() : nullptr;
        if (cuda) {
            if constexpr (std::is_same_v<T, float>) {
                Tensor ws = empty({std::max<int64_t>(1, lists.num_chunks())}, {DType::F32, xs[0].device()});
                SEGCORE_CUDA_CALL(kernels::l2_norm_cuda<float>(lists, ws.data<float>(), norm.data<float>(), coef_ptr,
                                                               max_norm, current_stream()));
            }
        } else {
            kernels::l2_norm_cpu<T>(lists, norm.data<T>(), coef_ptr, max_norm);
        }
    });
}

}  // namespace

Tensor multi_tensor_l2_norm(const std::vector<Tensor>& xs) {
    const char* op = "multi_tensor_l2_norm";
    if (xs.empty()) return zeros({});
    check_list(op, xs, xs, "tensors");
    Tensor norm = empty({}, {xs[0].dtype(), xs[0].device()});
    l2_norm_into(op, xs, norm, nullptr, 0.0);
    return norm;
}

void multi_tensor_scale_(const std::vector<Tensor>& xs, const Tensor& scale) {
    const char* op = "multi_tensor_scale_";
    if (xs.empty()) return;
    check_list(op, xs, xs, "tensors");
    check_scalar(op, scale, xs[0].dtype(), xs[0].device(), "scale");
    dispatch_list(op, xs[0], [&](auto tag, bool cuda) {
        using T = typename decltype(tag)::type;
        const kernels::TensorLists<T> lists = gather<T>({&xs});
        if (cuda) {
            if constexpr (std::is_same_v<T, float>)
                SEGCORE_CUDA_CALL(kernels::scale_cuda<float>(lists, scale.data<float>(), current_stream()));
        } else {
            kernels::scale_cpu<T>(lists, scale.data<T>());
        }
    });
}

Tensor clip_grad_norm_(const std::vector<Tensor>& grads, double max_norm) {
    const char* op = "clip_grad_norm_";
    SEGCORE_CHECK(max_norm >= 0.0, op, ": max_norm must be >= 0, got ", max_norm);
    if (grads.empty()) return zeros({});
    check_list(op, grads, grads, "grads");
    Tensor norm = empty({}, {grads[0].dtype(), grads[0].device()});
    Tensor coef = empty({}, {grads[0].dtype(), grads[0].device()});
    l2_norm_into(op, grads, norm, &coef, max_norm);
    multi_tensor_scale_(grads, coef);  // torch multiplies even when coef == 1
    return norm;
}

void non_finite_check_and_unscale_(const std::vector<Tensor>& grads, Tensor& found_inf, const Tensor& inv_scale) {
    const char* op = "non_finite_check_and_unscale_";
    if (grads.empty()) return;
    check_list(op, grads, grads, "grads");
    check_scalar(op, found_inf, DType::F32, grads[0].device(), "found_inf");
    if (inv_scale.defined()) check_scalar(op, inv_scale, DType::F32, grads[0].device(), "inv_scale");
    const float* inv = inv_scale.defined() ? inv_scale.data<float>() : nullptr;
    dispatch_list(op, grads[0], [&](auto tag, bool cuda) {
        using T = typename decltype(tag)::type;
        const kernels::TensorLists<T> lists = gather<T>({&grads});
        if (cuda) {
            if constexpr (std::is_same_v<T, float>)
                SEGCORE_CUDA_CALL(kernels::non_finite_check_and_unscale_cuda<float>(lists, found_inf.data<float>(), inv,
                                                                                    current_stream()));
        } else {
            kernels::non_finite_check_and_unscale_cpu<T>(lists, found_inf.data<float>(), inv);
        }
    });
}

void update_scale_(Tensor& scale, Tensor& growth_tracker, const Tensor& found_inf, double growth_factor,
                   double backoff_factor, int64_t growth_interval) {
    const char* op = "update_scale_";
    check_defined(op, {&scale, &growth_tracker, &found_inf});
    check_scalar(op, scale, DType::F32, scale.device(), "scale");
    check_scalar(op, growth_tracker, DType::I32, scale.device(), "growth_tracker");
    check_scalar(op, found_inf, DType::F32, scale.device(), "found_inf");
    SEGCORE_CHECK(growth_interval > 0, op, ": growth_interval must be > 0, got ", growth_interval);
    const kernels::UpdateScaleParams p{growth_factor, backoff_factor, growth_interval};
    if (scale.is_cuda()) {
        SEGCORE_CUDA_CALL(kernels::update_scale_cuda(p, scale.data<float>(), growth_tracker.data<int32_t>(),
                                                     found_inf.data<float>(), current_stream()));
    } else {
        kernels::update_scale_cpu(p, scale.data<float>(), growth_tracker.data<int32_t>(), found_inf.data<float>());
    }
}

}  // namespace segcore::ops
