#pragma once
// SEGCORE_HOST_DEVICE marks small inline functions that both host code and CUDA kernels call
// (Philox, kernel parameter structs); plain `inline` when the compiler is not nvcc.
#if defined(__CUDACC__)
#define SEGCORE_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define SEGCORE_HOST_DEVICE inline
#endif
