#pragma once
// Check macros for the CUDA runtime and cuBLAS. Include only from CUDA-only sources (.cu files
// and core/cuda/). cuDNN and NCCL have their own headers (cudnn_check.h, nccl_check.h) because
// they are optional at build time.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

namespace segcore::detail {
const char* cublas_status_name(cublasStatus_t s);
// After a kernel launch: reports a bad launch configuration at once and, in the debug mode of
// set_sync_after_launch(), synchronises so an asynchronous fault is blamed on this launch.
void cuda_launch_check(const char* file, int line);
}  // namespace segcore::detail

#define SEGCORE_CUDA_CHECK(expr)                                                                           \
    do {                                                                                                   \
        const cudaError_t segcore_err_ = (expr);                                                           \
        if (segcore_err_ != cudaSuccess) [[unlikely]]                                                      \
            ::segcore::detail::throw_error(__FILE__, __LINE__,                                             \
                                           ::segcore::detail::concat("CUDA error ", cudaGetErrorName(segcore_err_), \
                                                                     " (", cudaGetErrorString(segcore_err_),       \
                                                                     ") in ", #expr));                      \
    } while (0)

// For destructors: logs instead of throwing.
#define SEGCORE_CUDA_CHECK_NOTHROW(expr)                                                                   \
    do {                                                                                                   \
        const cudaError_t segcore_err_ = (expr);                                                           \
        if (segcore_err_ != cudaSuccess)                                                                   \
            ::segcore::detail::log_error(__FILE__, __LINE__,                                               \
                                         ::segcore::detail::concat("CUDA error ", cudaGetErrorName(segcore_err_), \
                                                                   " in ", #expr));                         \
    } while (0)

#define SEGCORE_CUBLAS_CHECK(expr)                                                                         \
    do {                                                                                                   \
        const cublasStatus_t segcore_st_ = (expr);                                                         \
        if (segcore_st_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                             \
            ::segcore::detail::throw_error(__FILE__, __LINE__,                                             \
                                           ::segcore::detail::concat("cuBLAS error ",                       \
                                                                     ::segcore::detail::cublas_status_name(segcore_st_), \
                                                                     " in ", #expr));                       \
    } while (0)

#define SEGCORE_CUDA_LAUNCH_CHECK() ::segcore::detail::cuda_launch_check(__FILE__, __LINE__)

namespace segcore {
// The cuBLAS handle of the current thread and device, bound to the current stream.
cublasHandle_t cublas_handle();
inline cudaStream_t to_cuda(void* handle) { return static_cast<cudaStream_t>(handle); }
}  // namespace segcore
