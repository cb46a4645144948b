#pragma once
// The one place an op's .cpp chooses a backend. Usage inside ops::<op>():
//
//   if (x.is_cuda()) {
//       SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), "relu", [&](auto tag) {
//           using T = typename decltype(tag)::type;
//           kernels::unary_forward_cuda<T>(p, x.data<T>(), y.data<T>(), current_stream());
//       }));
//   } else {
//       visit_float_dtype(x.dtype(), "relu", [&](auto tag) { ... unary_forward_cpu<T>(...) ...; });
//   }
//
// In a CPU-only build SEGCORE_CUDA_CALL compiles its argument away and throws "this build has
// no CUDA backend", so no other file needs #if SEGCORE_WITH_CUDA.
#include <initializer_list>

#include "core/dtype.h"
#include "core/error.h"
#include "core/stream.h"
#include "core/tensor.h"

#if SEGCORE_WITH_CUDA
#define SEGCORE_CUDA_CALL(...) __VA_ARGS__
#else
#define SEGCORE_CUDA_CALL(...) \
    ::segcore::detail::throw_error(__FILE__, __LINE__, "this build has no CUDA backend (configure with -DSEGCORE_CUDA=ON)")
#endif

namespace segcore {

// CUDA kernels are built for f32, f16 and bf16 (f64 stays on the CPU, where gradcheck runs).
template <typename F>
decltype(auto) visit_cuda_float_dtype(DType t, const char* op, F&& f) {
    switch (t) {
        case DType::F32: return f(TypeTag<float>{});
        case DType::F16: return f(TypeTag<Half>{});
        case DType::BF16: return f(TypeTag<BFloat16>{});
        default: break;
    }
    SEGCORE_THROW(op, ": the CUDA backend supports f32, f16 and bf16, got ", dtype_name(t),
                  (t == DType::F64 ? " (run f64 on the CPU)" : ""));
}

// Argument checks shared by ops. Each names the op and says what was expected and found.
void check_defined(const char* op, std::initializer_list<const Tensor*> ts);
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts);
void check_dim(const char* op, const Tensor& t, int64_t ndim, const char* name);
void check_floating(const char* op, const Tensor& t, const char* name);

}  // namespace segcore
