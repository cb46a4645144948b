// CUDA data movement: device-to-device memcpy (the bandwidth ceiling), cast, transposed copy, fill.
// GB/s counts bytes read + bytes written; timed with CUDA events, L2 flushed between repeats.
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "core/copy.h"
#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/shape/flip.h"

using namespace segcore;

namespace {

constexpr int64_t kElems = int64_t(1) << 26;  // 64M f32 = 256 MiB

void BM_cuda_memcpy_d2d(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const int64_t n = state.range(0) * 4;
    const Tensor src = zeros({n}, {DType::U8, Device::cuda()});
    Tensor dst = empty({n}, {DType::U8, Device::cuda()});
    bench::run_cuda(state, [&] { memcpy_device(dst.data_ptr(), src.data_ptr(), n, current_stream()); });
    bench::set_bytes(state, 2.0 * double(n));
}
BENCHMARK(BM_cuda_memcpy_d2d)->Arg(kElems)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_cast_f32_to_f16(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const int64_t n = state.range(0);
    const Tensor src = ones({n}, Device::cuda());
    Tensor dst = empty({n}, {DType::F16, Device::cuda()});
    bench::run_cuda(state, [&] { dst.copy_(src); });
    bench::set_bytes(state, 6.0 * double(n));
}
BENCHMARK(BM_cuda_cast_f32_to_f16)->Arg(kElems)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_cast_f16_to_f32(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const int64_t n = state.range(0);
    const Tensor src = ones({n}, {DType::F16, Device::cuda()});
    Tensor dst = empty({n}, Device::cuda());
    bench::run_cuda(state, [&] { dst.copy_(src); });
    bench::set_bytes(state, 6.0 * double(n));
}
BENCHMARK(BM_cuda_cast_f16_to_f32)->Arg(kElems)->UseManualTime()->Unit(benchmark::kMicrosecond);

// NCHW -> NHWC (permute + contiguous into a preallocated output).
void BM_cuda_copy_nchw_to_nhwc_f32(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const int64_t c = state.range(0);
    const Tensor x = ones({16, c, 128, 128}, Device::cuda());
    Tensor y = empty({16, 128, 128, c}, Device::cuda());
    const Tensor xp = x.permute({0, 2, 3, 1});
    bench::run_cuda(state, [&] { y.copy_(xp); });
    bench::set_bytes(state, 8.0 * double(x.numel()));
}
BENCHMARK(BM_cuda_copy_nchw_to_nhwc_f32)->Arg(3)->Arg(64)->Arg(256)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_fill_f32(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const int64_t n = state.range(0);
    Tensor dst = empty({n}, Device::cuda());
    bench::run_cuda(state, [&] { dst.fill_(1.5); });
    bench::set_bytes(state, 4.0 * double(n));
}
BENCHMARK(BM_cuda_fill_f32)->Arg(kElems)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Horizontal flip of Cityscapes-sized logits (flip TTA); the d2d memcpy above is its ceiling.
void BM_cuda_flip_width_f32(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = ones({8, 19, 512, 1024}, Device::cuda());
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::flip(x, 3); });
    bench::set_bytes(state, 8.0 * double(x.numel()));
}
BENCHMARK(BM_cuda_flip_width_f32)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
