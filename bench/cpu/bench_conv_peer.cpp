// The CPU numbers the Network-kernels issue compares with PyTorch, on its shapes: activation
// 4x64x90x120 (a 360x480 image at 1/4), f32. bench/torch/bench_conv_torch.py times the same ops
// with Debian's python3-torch; run both with the same SEGCORE_NUM_THREADS to compare:
//
//   build/bench/bench_conv_peer --benchmark_min_time=2
//   /usr/bin/python3 bench/torch/bench_conv_torch.py
//
// conv3x3: dense 64->64, pad 1. depthwise3x3: groups = 64. block: conv3x3 (no bias) -> batch norm
// (training statistics) with fused ReLU -> sum, forward + backward through autograd, so the tape,
// the saved tensors and the gradient accumulation are all included, as in PyTorch's number.
#include <benchmark/benchmark.h>

#include "autograd/functions.h"
#include "bench/common/bench_util.h"
#include "kernels/elementwise/operators.h"
#include "kernels/ops.h"

using namespace segcore;
using autograd::Variable;

namespace {

constexpr int64_t N = 4, C = 64, H = 90, W = 120;

double conv_flops(int64_t groups) { return 2.0 * double(N * C * H * W) * double(C / groups * 9); }

void BM_conv3x3_forward(benchmark::State& state) {
    const int64_t groups = state.range(0);
    const Tensor x = randn({N, C, H, W}), w = randn({C, C / groups, 3, 3}), b = randn({C});
    const auto opt = ops::Conv2dOptions::make(1, 1, 1, groups);
    for (auto _ : state) benchmark::DoNotOptimize(ops::conv2d(x, w, b, opt));
    bench::set_flops(state, conv_flops(groups));
}

// Forward + input gradient + weight/bias gradient, the three passes of one training step.
void BM_conv3x3_forward_backward(benchmark::State& state) {
    const int64_t groups = state.range(0);
    const Tensor x = randn({N, C, H, W}), w = randn({C, C / groups, 3, 3}), b = randn({C});
    const auto opt = ops::Conv2dOptions::make(1, 1, 1, groups);
    const Tensor dy = randn({N, C, H, W});
    for (auto _ : state) {
        benchmark::DoNotOptimize(ops::conv2d(x, w, b, opt));
        benchmark::DoNotOptimize(ops::conv2d_backward_input(dy, w, x.shape(), opt));
        benchmark::DoNotOptimize(ops::conv2d_backward_weight(x, dy, w.shape(), true, opt));
    }
    bench::set_flops(state, 3 * conv_flops(groups));
}

// One backward pass alone: range(0) = groups, range(1) = 0 input gradient, 1 weight gradient.
void BM_conv3x3_backward_pass(benchmark::State& state) {
    const int64_t groups = state.range(0);
    const Tensor x = randn({N, C, H, W}), w = randn({C, C / groups, 3, 3}), dy = randn({N, C, H, W});
    const auto opt = ops::Conv2dOptions::make(1, 1, 1, groups);
    for (auto _ : state) {
        if (state.range(1) == 0) benchmark::DoNotOptimize(ops::conv2d_backward_input(dy, w, x.shape(), opt));
        else benchmark::DoNotOptimize(ops::conv2d_backward_weight(x, dy, w.shape(), true, opt));
    }
}

void BM_conv_bn_relu_block(benchmark::State& state) {
    const Tensor x0 = randn({N, C, H, W});
    Variable w(randn({C, C, 3, 3}) * 0.05, true), g(ones({C}), true), b(zeros({C}), true);
    Tensor rm = zeros({C}), rv = ones({C});
    const auto opt = ops::Conv2dOptions::make(1, 1);
    for (auto _ : state) {
        Variable x(x0, true);
        Variable y = autograd::batch_norm(autograd::conv2d(x, w, Variable(), opt), g, b, rm, rv, true, 0.1, 1e-5,
                                          kernels::BnAct::Relu);
        autograd::sum(y).backward();
        benchmark::DoNotOptimize(x.grad());
    }
    bench::set_flops(state, 3 * conv_flops(1));
}

}  // namespace

BENCHMARK(BM_conv3x3_forward)->ArgName("groups")->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv3x3_forward_backward)->ArgName("groups")->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv_bn_relu_block)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv3x3_backward_pass)->ArgNames({"groups", "weight"})->ArgsProduct({{1, 64}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();
