// CUDA GEMM: cuBLAS against the hand-written tiled kernel, side by side, for f32/f16/bf16.
// FLOPs = 2*M*N*K per call. Floors on an H200: ~67 TFLOP/s f32 without TF32 (the CUDA cores), ~990
// TFLOP/s dense f16/bf16 on tensor cores. The tiled kernel uses only CUDA cores (f32 FMA), so for
// f16/bf16 the gap to cuBLAS is mostly the tensor cores; for f32 it measures the tiling itself.
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "core/tensor.h"
#include "kernels/linalg/matmul.h"

using namespace segcore;
using ops::MatmulBackend;

namespace {

void run_gemm(benchmark::State& state, int64_t m, int64_t n, int64_t k, DType dt, MatmulBackend backend) {
    if (!bench::require_cuda_device(state)) return;
    Generator gen(1);
    const TensorOptions opt(dt, Device::cuda());
    const Tensor a = randn({m, k}, opt, &gen), b = randn({k, n}, opt, &gen);
    Tensor c = empty({m, n}, opt);
    bench::run_cuda(state, [&] { ops::matmul_out(c, a, b, {1.0, 0.0, backend}); });
    bench::set_flops(state, 2.0 * double(m) * double(n) * double(k));
}

// Args: n (square), dtype, backend.
void BM_gemm_square(benchmark::State& state) {
    const int64_t n = state.range(0);
    run_gemm(state, n, n, n, DType(state.range(1)), MatmulBackend(state.range(2)));
}

// A 3x3 convolution as im2col GEMM: 64 output channels, 64 x 9 inputs, 16 images of 128x128.
void BM_gemm_conv_like(benchmark::State& state) {
    run_gemm(state, 64, 16 * 128 * 128, 576, DType(state.range(0)), MatmulBackend(state.range(1)));
}

void square_args(benchmark::internal::Benchmark* bm) {
    bm->ArgNames({"n", "dtype", "backend"});
    for (const DType dt : {DType::F32, DType::F16, DType::BF16})
        for (const int64_t n : {1024, 2048, 4096})
            for (const MatmulBackend be : {MatmulBackend::Cublas, MatmulBackend::Tiled})
                bm->Args({n, int64_t(dt), int64_t(be)});
}

void conv_args(benchmark::internal::Benchmark* bm) {
    bm->ArgNames({"dtype", "backend"});
    for (const DType dt : {DType::F32, DType::F16, DType::BF16})
        for (const MatmulBackend be : {MatmulBackend::Cublas, MatmulBackend::Tiled}) bm->Args({int64_t(dt), int64_t(be)});
}

// dtype: 0 f32, 2 f16, 3 bf16 (DType's values); backend: 1 cuBLAS, 2 tiled (MatmulBackend's values).
BENCHMARK(BM_gemm_square)->Apply(square_args)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_gemm_conv_like)->Apply(conv_args)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
