#pragma once
// Argument handling shared by the elementwise ops' .cpp files (not a public API).
#include <algorithm>
#include <initializer_list>
#include <string>

#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace segcore::detail {

// The broadcast shape of all operands; the error names the op and every shape.
inline Shape elementwise_broadcast_shape(const char* op, std::initializer_list<const Tensor*> ts) {
    size_t ndim = 0;
    for (const Tensor* t : ts) ndim = std::max(ndim, t->shape().size());
    Shape out(ndim, 1);
    for (const Tensor* t : ts) {
        const Shape& s = t->shape();
        for (size_t i = 0; i < s.size(); ++i) {
            const size_t d = ndim - s.size() + i;
            if (s[i] == out[d] || s[i] == 1) continue;
            if (out[d] == 1) {
                out[d] = s[i];
                continue;
            }
            std::string shapes;
            for (const Tensor* u : ts) shapes += (shapes.empty() ? "" : " and ") + shape_str(u->shape());
            SEGCORE_THROW(op, ": shapes ", shapes, " cannot be broadcast together (dimension ", d, " is ", out[d],
                          " vs ", s[i], ")");
        }
    }
    return out;
}

// In-place ops never resize or broadcast the destination (PyTorch's rule).
inline void check_inplace_shape(const char* op, const Tensor& dst, const Shape& broadcast) {
    SEGCORE_CHECK(dst.shape() == broadcast, op, ": the in-place destination has shape ", shape_str(dst.shape()),
                  " but the broadcast result has shape ", shape_str(broadcast),
                  " (an in-place destination cannot be broadcast)");
}

// a and b must share a dtype: the family does no type promotion.
inline void check_same_dtype_no_promotion(const char* op, const Tensor& a, const Tensor& b, const char* na,
                                          const char* nb) {
    SEGCORE_CHECK(a.dtype() == b.dtype(), op, ": expected ", na, " and ", nb, " of one dtype (no type promotion), got ",
                  dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
}

// Comparisons and where on CUDA: the float types plus the integer types labels come in.
template <typename F>
decltype(auto) visit_cuda_select_dtype(DType t, const char* op, F&& f) {
    switch (t) {
        case DType::F32:
            return f(TypeTag<float>{});
        case DType::F16:
            return f(TypeTag<Half>{});
        case DType::BF16:
            return f(TypeTag<BFloat16>{});
        case DType::I32:
            return f(TypeTag<int32_t>{});
        case DType::I64:
            return f(TypeTag<int64_t>{});
        case DType::U8:
            return f(TypeTag<uint8_t>{});
        default:
            break;
    }
    SEGCORE_THROW(op, ": the CUDA backend supports f32, f16, bf16, i32, i64 and u8 here, got ", dtype_name(t),
                  (t == DType::F64 ? " (run f64 on the CPU)" : ""));
}

}  // namespace segcore::detail
