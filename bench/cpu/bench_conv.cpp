// CPU convolution and batch norm on segmentation shapes (batch 1 at 360x480 — the CPU path is the
// oracle and the fallback, not the training engine). Counters: GFLOP/s for convolutions (2 flops
// per multiply-add, counting only taps inside the image would be fairer for padded layers; we count
// the full R*S like cuDNN benchmarks do), GB/s for batch norm. Baseline in the same run: the bare
// GEMM of the same size (bench_matmul's Eigen path), i.e. what im2col+GEMM could at best reach.
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "kernels/ops.h"

using namespace segcore;

namespace {

struct ConvShape {
    int64_t n, c, h, w, k, r, stride, pad, dil, groups;
};

// A U-Net first stage, a ResNet-50 bottleneck 1x1 and 3x3 at 1/8, an ASPP atrous branch, a
// MobileNetV2 depthwise layer.
const ConvShape kShapes[] = {
    {1, 64, 360, 480, 64, 3, 1, 1, 1, 1},    // 0: unet_stage1 3x3
    {1, 256, 45, 60, 64, 1, 1, 0, 1, 1},     // 1: resnet 1x1 reduce
    {1, 64, 45, 60, 64, 3, 1, 1, 1, 1},      // 2: resnet 3x3 at 1/8
    {1, 256, 45, 60, 256, 3, 1, 12, 12, 1},  // 3: aspp rate 12
    {1, 144, 90, 120, 144, 3, 1, 1, 1, 144}, // 4: mobilenetv2 depthwise
};

double conv_flops(const ConvShape& s, int64_t p, int64_t q) {
    return 2.0 * double(s.n * s.k * p * q) * double(s.c / s.groups * s.r * s.r);
}

void BM_conv2d_forward(benchmark::State& state) {
    const ConvShape& s = kShapes[state.range(0)];
    const Tensor x = randn({s.n, s.c, s.h, s.w}), w = randn({s.k, s.c / s.groups, s.r, s.r});
    const auto opt = ops::Conv2dOptions::make(s.stride, s.pad, s.dil, s.groups);
    Tensor y;
    for (auto _ : state) benchmark::DoNotOptimize(y = ops::conv2d(x, w, Tensor(), opt));
    bench::set_flops(state, conv_flops(s, y.size(2), y.size(3)));
}

void BM_conv2d_backward(benchmark::State& state) {  // input + weight gradients
    const ConvShape& s = kShapes[state.range(0)];
    const Tensor x = randn({s.n, s.c, s.h, s.w}), w = randn({s.k, s.c / s.groups, s.r, s.r});
    const auto opt = ops::Conv2dOptions::make(s.stride, s.pad, s.dil, s.groups);
    const Tensor dy = randn(ops::conv2d(x, w, Tensor(), opt).shape());
    for (auto _ : state) {
        benchmark::DoNotOptimize(ops::conv2d_backward_input(dy, w, x.shape(), opt));
        benchmark::DoNotOptimize(ops::conv2d_backward_weight(x, dy, w.shape(), true, opt));
    }
    bench::set_flops(state, 2 * conv_flops(s, dy.size(2), dy.size(3)));
}

// The GEMM that im2col turns each dense shape into: (K x CRS) @ (CRS x PQ).
void BM_equivalent_gemm(benchmark::State& state) {
    const ConvShape& s = kShapes[state.range(0)];
    const int64_t p = (s.h + 2 * s.pad - s.dil * (s.r - 1) - 1) / s.stride + 1;
    const int64_t q = (s.w + 2 * s.pad - s.dil * (s.r - 1) - 1) / s.stride + 1;
    const Tensor a = randn({s.k, s.c * s.r * s.r}), b = randn({s.c * s.r * s.r, p * q});
    for (auto _ : state) benchmark::DoNotOptimize(ops::matmul(a, b));
    bench::set_flops(state, conv_flops(s, p, q));
}

void BM_batch_norm_train(benchmark::State& state) {
    const Tensor x = randn({2, 64, 180, 240});
    const Tensor g = ones({64}), b = zeros({64});
    Tensor rm = zeros({64}), rv = ones({64});
    for (auto _ : state) benchmark::DoNotOptimize(ops::batch_norm(x, g, b, rm, rv, true, 0.1, 1e-5, kernels::Act::Relu));
    bench::set_bytes(state, 3.0 * double(x.nbytes()));  // read twice (stats, apply), write once
}

void BM_batch_norm_backward(benchmark::State& state) {
    const Tensor x = randn({2, 64, 180, 240}), dy = randn({2, 64, 180, 240});
    const Tensor g = ones({64}), b = zeros({64}), mean = zeros({64}), invstd = ones({64});
    for (auto _ : state)
        benchmark::DoNotOptimize(ops::batch_norm_backward(dy, x, mean, invstd, g, b, true, kernels::Act::Relu).dx);
    bench::set_bytes(state, 5.0 * double(x.nbytes()));  // x, dy read twice; dx written once
}

}  // namespace

BENCHMARK(BM_conv2d_forward)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_backward)->DenseRange(0, 4)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_equivalent_gemm)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_batch_norm_train)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_batch_norm_backward)->Unit(benchmark::kMillisecond)->UseRealTime();
