// CPU elementwise bandwidth on a segmentation activation, 8 x 64 x 256 x 256 (134 MB in f32, far
// beyond the last-level cache), against a memcpy of the same tensor split over the same threads.
// GB/s counts the bytes an op must move: reads + writes (add: 3 tensors, relu: 2).
// The kernel benchmarks write into a preallocated output: ops::add allocates a fresh 134 MB tensor
// per call, and first-touch page faults would then dominate (BM_add_ops shows that cost).
#include <benchmark/benchmark.h>

#include <cstring>

#include "bench/common/bench_util.h"
#include "core/parallel.h"
#include "core/tensor.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"

using namespace segcore;

// Rates use wall time (UseRealTime): the work is spread over the pool.

namespace {

const Shape kShape{8, 64, 256, 256};

double nbytes(DType t, int tensors) { return double(shape_numel(kShape)) * double(dtype_size(t)) * tensors; }

// The baseline: std::memcpy of one tensor into another, one chunk per pool thread.
void BM_memcpy(benchmark::State& state) {
    const Tensor src = randn(kShape);
    Tensor dst = zeros(kShape);
    const char* s = static_cast<const char*>(src.data_ptr());
    char* d = static_cast<char*>(dst.data_ptr());
    for (auto _ : state) {
        parallel_for(0, src.nbytes(), kDefaultGrain * 4,
                     [&](int64_t b, int64_t e) { std::memcpy(d + b, s + b, size_t(e - b)); });
        benchmark::DoNotOptimize(dst.data_ptr());
    }
    bench::set_bytes(state, nbytes(DType::F32, 2));
}
BENCHMARK(BM_memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();

// segcore's own contiguous copy (Tensor::copy_), which is the same memcpy behind a geometry.
void BM_copy(benchmark::State& state) {
    const Tensor src = randn(kShape);
    Tensor dst = zeros(kShape);
    for (auto _ : state) {
        dst.copy_(src);
        benchmark::DoNotOptimize(dst.data_ptr());
    }
    bench::set_bytes(state, nbytes(DType::F32, 2));
}
BENCHMARK(BM_copy)->Unit(benchmark::kMillisecond)->UseRealTime();

template <typename T>
void run_binary(benchmark::State& state, kernels::BinaryOp op, const Shape& b_shape) {
    const DType t = dtype_of<T>;
    const Tensor a = randn(kShape, t), b = randn(b_shape, t);
    Tensor out = zeros(kShape, t);
    const Tensor be = b.expand(kShape);
    const auto g = make_geometry<3>(kShape, {&out.strides(), &a.strides(), &be.strides()});
    for (auto _ : state) {
        kernels::binary_cpu<T>({op, 1.0}, g, out.data<T>(), a.data<T>(), b.data<T>());
        benchmark::DoNotOptimize(out.data_ptr());
    }
    bench::set_bytes(state, nbytes(t, b_shape == kShape ? 3 : 2));
}

template <typename T>
void run_unary(benchmark::State& state, kernels::UnaryParams p) {
    const DType t = dtype_of<T>;
    const Tensor x = randn(kShape, t);
    Tensor y = zeros(kShape, t);
    const auto g = make_geometry<2>(kShape, {&y.strides(), &x.strides()});
    for (auto _ : state) {
        kernels::unary_cpu<T>(p, g, y.data<T>(), x.data<T>());
        benchmark::DoNotOptimize(y.data_ptr());
    }
    bench::set_bytes(state, nbytes(t, 2));
}

void BM_add(benchmark::State& state) { run_binary<float>(state, kernels::BinaryOp::Add, kShape); }
BENCHMARK(BM_add)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_mul(benchmark::State& state) { run_binary<float>(state, kernels::BinaryOp::Mul, kShape); }
BENCHMARK(BM_mul)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_maximum(benchmark::State& state) { run_binary<float>(state, kernels::BinaryOp::Maximum, kShape); }
BENCHMARK(BM_maximum)->Unit(benchmark::kMillisecond)->UseRealTime();
// A per-channel bias (1, C, 1, 1): the broadcast operand is constant along each H*W row.
void BM_add_bias(benchmark::State& state) { run_binary<float>(state, kernels::BinaryOp::Add, {1, 64, 1, 1}); }
BENCHMARK(BM_add_bias)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_add_f16(benchmark::State& state) { run_binary<Half>(state, kernels::BinaryOp::Add, kShape); }
BENCHMARK(BM_add_f16)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_add_bf16(benchmark::State& state) { run_binary<BFloat16>(state, kernels::BinaryOp::Add, kShape); }
BENCHMARK(BM_add_bf16)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_relu(benchmark::State& state) { run_unary<float>(state, {kernels::UnaryOp::Relu}); }
BENCHMARK(BM_relu)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_mul_scalar(benchmark::State& state) { run_unary<float>(state, {kernels::UnaryOp::MulScalar, 0.5}); }
BENCHMARK(BM_mul_scalar)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_exp(benchmark::State& state) { run_unary<float>(state, {kernels::UnaryOp::Exp}); }
BENCHMARK(BM_exp)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_sigmoid(benchmark::State& state) { run_unary<float>(state, {kernels::UnaryOp::Sigmoid}); }
BENCHMARK(BM_sigmoid)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_gelu(benchmark::State& state) { run_unary<float>(state, {kernels::UnaryOp::Gelu}); }
BENCHMARK(BM_gelu)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_hardswish(benchmark::State& state) { run_unary<float>(state, {kernels::UnaryOp::Hardswish}); }
BENCHMARK(BM_hardswish)->Unit(benchmark::kMillisecond)->UseRealTime();

// Through the ops:: API. In place: no allocation, what an optimiser step or a fused block sees.
void BM_add_inplace_ops(benchmark::State& state) {
    Tensor a = randn(kShape);
    const Tensor b = randn(kShape);
    for (auto _ : state) {
        ops::add_(a, b, 1e-3);
        benchmark::DoNotOptimize(a.data_ptr());
    }
    bench::set_bytes(state, nbytes(DType::F32, 3));
}
BENCHMARK(BM_add_inplace_ops)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_relu_inplace_ops(benchmark::State& state) {
    Tensor x = randn(kShape);
    for (auto _ : state) {
        ops::relu_(x);
        benchmark::DoNotOptimize(x.data_ptr());
    }
    bench::set_bytes(state, nbytes(DType::F32, 2));
}
BENCHMARK(BM_relu_inplace_ops)->Unit(benchmark::kMillisecond)->UseRealTime();
// Out of place: includes allocating (and faulting in) the 134 MB result every call.
void BM_add_ops(benchmark::State& state) {
    const Tensor a = randn(kShape), b = randn(kShape);
    for (auto _ : state) {
        Tensor out = ops::add(a, b);
        benchmark::DoNotOptimize(out.data_ptr());
    }
    bench::set_bytes(state, nbytes(DType::F32, 3));
}
BENCHMARK(BM_add_ops)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
