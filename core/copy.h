#pragma once
// The data-movement primitives a Tensor needs: strided copy with dtype conversion, fill, and
// Philox random fill. Raw-pointer kernels over a StridedGeometry; Tensor::copy_/fill_ and the
// factories in tensor.cpp validate and dispatch. CUDA variants run on the given stream and
// require every pointer to be on the current device.
//
//   copy:   dst[i] = convert<dst_t>(src[i])   (overwrites dst; f32 -> f16/bf16 rounds to nearest even,
//                                              float -> int truncates toward zero, x -> bool is x != 0)
//   fill:   dst[i] = value
//   random: dst[i] = uniform(a, b) | normal(mean a, std b) | randint [a, b)  for logical index i
#include <cstdint>

#include "core/dtype.h"
#include "core/geometry.h"
#include "core/stream.h"

namespace segcore {

void copy_cpu(const StridedGeometry<2>& g, DType dst_t, void* dst, DType src_t, const void* src);
void copy_cuda(const StridedGeometry<2>& g, DType dst_t, void* dst, DType src_t, const void* src, Stream s);

void fill_cpu(const StridedGeometry<1>& g, DType t, void* dst, double value);
void fill_cuda(const StridedGeometry<1>& g, DType t, void* dst, double value, Stream s);

enum class RandomKind { Uniform, Normal, Integer };
struct RandomParams {
    RandomKind kind = RandomKind::Uniform;
    uint64_t seed = 0, offset = 0;
    double a = 0, b = 1;
};
void random_cpu(const StridedGeometry<1>& g, DType t, void* dst, const RandomParams& p);
void random_cuda(const StridedGeometry<1>& g, DType t, void* dst, const RandomParams& p, Stream s);

// Host <-> device and device <-> device byte copies on a stream (synchronous for pageable host memory).
void memcpy_to_device(void* dst, const void* src, int64_t nbytes, Stream s);
void memcpy_to_host(void* dst, const void* src, int64_t nbytes, Stream s);
void memcpy_device(void* dst, const void* src, int64_t nbytes, Stream s);

}  // namespace segcore
