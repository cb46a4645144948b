#pragma once
// t += v for integer tensors (i32, i64): counters that live on the device, such as BatchNorm's
// num_batches_tracked, advance without a host round trip. (The float elementwise family is
// floating-point only; counters are the one integer update the engine needs.)
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {
template <typename I>
void int_add_cuda(I* t, int64_t n, int64_t v, Stream s);
}  // namespace segcore::kernels

namespace segcore::ops {
Tensor& int_add_(Tensor& t, int64_t v);  // contiguous i32/i64 tensors on any device
}  // namespace segcore::ops
