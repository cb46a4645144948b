// CPU GEMM throughput (Eigen, split across segcore's thread pool). FLOPs = 2*M*N*K per call.
// Floor on this class of machine: 2 cores x 2 FMA units x 8 f32 lanes x 2 flops per cycle with
// AVX2, about 64 flops/cycle in all (~190 GFLOP/s at 3 GHz).
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "core/tensor.h"
#include "kernels/linalg/matmul.h"

using namespace segcore;

// Rates use wall time (UseRealTime): the work is spread over the pool, the main thread's CPU time
// would count one thread only.

namespace {

void run_gemm(benchmark::State& state, int64_t m, int64_t n, int64_t k, DType dt, bool trans_b) {
    Generator gen(1);
    const Tensor a = randn({m, k}, dt, &gen);
    const Tensor b = trans_b ? randn({n, k}, dt, &gen).t() : randn({k, n}, dt, &gen);
    Tensor c = empty({m, n}, dt);
    for (auto _ : state) {
        ops::matmul_out(c, a, b);
        benchmark::DoNotOptimize(c.data_ptr());
    }
    bench::set_flops(state, 2.0 * double(m) * double(n) * double(k));
}

// Square SGEMM, n x n x n.
void BM_sgemm(benchmark::State& state) {
    const int64_t n = state.range(0);
    run_gemm(state, n, n, n, DType::F32, false);
}
BENCHMARK(BM_sgemm)->Arg(256)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

// B passed as a transposed view: the GEMM reads it with a transpose flag instead of copying.
void BM_sgemm_trans_b(benchmark::State& state) {
    const int64_t n = state.range(0);
    run_gemm(state, n, n, n, DType::F32, true);
}
BENCHMARK(BM_sgemm_trans_b)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

// A 3x3 convolution as im2col GEMM: 64 output channels, 64 input channels x 9 taps, 128x128 pixels.
void BM_sgemm_conv_like(benchmark::State& state) { run_gemm(state, 64, 128 * 128, 576, DType::F32, false); }
BENCHMARK(BM_sgemm_conv_like)->Unit(benchmark::kMillisecond)->UseRealTime();

// f64 (gradcheck) and bf16 (converted to f32 around the f32 GEMM) for reference.
void BM_dgemm(benchmark::State& state) { run_gemm(state, 512, 512, 512, DType::F64, false); }
BENCHMARK(BM_dgemm)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_gemm_bf16(benchmark::State& state) { run_gemm(state, 512, 512, 512, DType::BF16, false); }
BENCHMARK(BM_gemm_bf16)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
