// CPU data movement: the memcpy ceiling, then Tensor copy, transposed copy, cast and fill.
// GB/s counts bytes read + bytes written. Sizes are well beyond the last-level cache.
#include <benchmark/benchmark.h>

#include <cstring>

#include "bench/common/bench_util.h"
#include "core/parallel.h"
#include "core/tensor.h"
#include "kernels/shape/flip.h"

using namespace segcore;

namespace {

constexpr int64_t kElems = int64_t(1) << 24;  // 16M f32 = 64 MiB

// std::memcpy split across the pool: what any copy kernel can hope for.
void BM_memcpy_parallel(benchmark::State& state) {
    const int64_t n = state.range(0) * 4;
    const Tensor src = ones({n}, DType::U8);
    Tensor dst = empty({n}, DType::U8);
    char* d = static_cast<char*>(dst.data_ptr());
    const char* s = static_cast<const char*>(src.data_ptr());
    for (auto _ : state) {
        parallel_for(0, n, int64_t(1) << 20, [&](int64_t b, int64_t e) { std::memcpy(d + b, s + b, size_t(e - b)); });
        benchmark::ClobberMemory();
    }
    bench::set_bytes(state, 2.0 * double(n));
}
BENCHMARK(BM_memcpy_parallel)->Arg(kElems)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_copy_contiguous_f32(benchmark::State& state) {
    const int64_t n = state.range(0);
    const Tensor src = ones({n});
    Tensor dst = empty({n});
    for (auto _ : state) {
        dst.copy_(src);
        benchmark::ClobberMemory();
    }
    bench::set_bytes(state, 8.0 * double(n));
}
BENCHMARK(BM_copy_contiguous_f32)->Arg(kElems)->UseRealTime()->Unit(benchmark::kMillisecond);

// NCHW -> NHWC: x.permute({0, 2, 3, 1}) made contiguous (into a preallocated output).
void BM_copy_nchw_to_nhwc_f32(benchmark::State& state) {
    const int64_t c = state.range(0);
    const Shape shape = {8, c, 128, 128};
    const Tensor x = ones(shape);
    Tensor y = empty({8, 128, 128, c});
    const Tensor xp = x.permute({0, 2, 3, 1});
    for (auto _ : state) {
        y.copy_(xp);
        benchmark::ClobberMemory();
    }
    bench::set_bytes(state, 8.0 * double(x.numel()));
}
BENCHMARK(BM_copy_nchw_to_nhwc_f32)->Arg(3)->Arg(64)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

// Casts between f32 and the 16-bit types: what autocast does to every activation.
void run_cast(benchmark::State& state, DType from, DType to) {
    const int64_t n = state.range(0);
    const Tensor src = randn({n}).to(from);
    Tensor dst = empty({n}, to);
    for (auto _ : state) {
        dst.copy_(src);
        benchmark::ClobberMemory();
    }
    bench::set_bytes(state, double(n) * double(dtype_size(from) + dtype_size(to)));
}
void BM_cast_f32_to_f16(benchmark::State& state) { run_cast(state, DType::F32, DType::F16); }
BENCHMARK(BM_cast_f32_to_f16)->Arg(kElems)->UseRealTime()->Unit(benchmark::kMillisecond);
void BM_cast_f16_to_f32(benchmark::State& state) { run_cast(state, DType::F16, DType::F32); }
BENCHMARK(BM_cast_f16_to_f32)->Arg(kElems)->UseRealTime()->Unit(benchmark::kMillisecond);
void BM_cast_f32_to_bf16(benchmark::State& state) { run_cast(state, DType::F32, DType::BF16); }
BENCHMARK(BM_cast_f32_to_bf16)->Arg(kElems)->UseRealTime()->Unit(benchmark::kMillisecond);
void BM_cast_bf16_to_f32(benchmark::State& state) { run_cast(state, DType::BF16, DType::F32); }
BENCHMARK(BM_cast_bf16_to_f32)->Arg(kElems)->UseRealTime()->Unit(benchmark::kMillisecond);

// A plain 2-D transpose, x.t() made contiguous: both dims large, so neither side is contiguous
// along the whole inner loop.
void BM_copy_transpose_2d_f32(benchmark::State& state) {
    const int64_t n = state.range(0);
    const Tensor x = randn({n, n});
    Tensor y = empty({n, n});
    const Tensor xt = x.t();
    for (auto _ : state) {
        y.copy_(xt);
        benchmark::ClobberMemory();
    }
    bench::set_bytes(state, 8.0 * double(x.numel()));
}
BENCHMARK(BM_copy_transpose_2d_f32)->Arg(4096)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_fill_f32(benchmark::State& state) {
    const int64_t n = state.range(0);
    Tensor dst = empty({n});
    for (auto _ : state) {
        dst.fill_(1.5);
        benchmark::ClobberMemory();
    }
    bench::set_bytes(state, 4.0 * double(n));
}
BENCHMARK(BM_fill_f32)->Arg(kElems)->UseRealTime()->Unit(benchmark::kMillisecond);

// Horizontal flip of an activation-sized (N, C, H, W) tensor: flip TTA mirrors every image and
// every logit map (seg/inference/infer.cpp). A copy with reversed rows; memcpy above is its ceiling.
void BM_flip_width_f32(benchmark::State& state) {
    const Tensor x = ones({8, 19, 256, 512});
    for (auto _ : state) benchmark::DoNotOptimize(ops::flip(x, 3));
    bench::set_bytes(state, 8.0 * double(x.numel()));
}
BENCHMARK(BM_flip_width_f32)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
