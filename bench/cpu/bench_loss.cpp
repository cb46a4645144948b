// CPU fused cross-entropy (kernels/loss/cross_entropy.h) against the unfused composite on the same
// logits in the same run, with a memcpy baseline. Shape: 4 x 19 x 360 x 480 (a Cityscapes batch at
// half resolution), labels with ~10% ignore_index.
//
//   fused_fwd          the loss only (no gradient buffer)
//   fused_fwd_bwd      autograd: cross_entropy(x, y).backward() (forward writes the gradient, backward
//                      rescales it)
//   composite_fwd_bwd  autograd: -(log_softmax(x, 1) * onehot).sum() / valid: what a model without a
//                      fused loss runs (one-hot built once, outside the timing)
// GB/s: the logits bytes (read once) for the forward; logits + gradient (read + write) for fwd+bwd.
// bench/torch/bench_ce_torch.py times PyTorch's F.cross_entropy forward+backward on the same shape.
#include <benchmark/benchmark.h>

#include <random>

#include "autograd/functions.h"
#include "bench/common/bench_util.h"
#include "kernels/ops.h"

using namespace segcore;
namespace F = segcore::autograd;

namespace {

constexpr int64_t kN = 4, kC = 19, kH = 360, kW = 480;

const Tensor& logits() {
    static const Tensor t = randn({kN, kC, kH, kW});
    return t;
}

const Tensor& labels() {
    static const Tensor y = [] {
        Tensor t = empty({kN, kH, kW}, {DType::I64});
        std::mt19937 rng(1);
        for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = rng() % 10 == 0 ? 255 : int64_t(rng() % kC);
        return t;
    }();
    return y;
}

double logits_bytes() { return double(logits().nbytes()); }

void BM_memcpy_logits(benchmark::State& state) {
    Tensor dst = empty_like(logits());
    for (auto _ : state) {
        dst.copy_(logits());
        benchmark::DoNotOptimize(dst.data_ptr());
    }
    bench::set_bytes(state, 2.0 * logits_bytes());
}

void BM_ce_fused_fwd(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(ops::cross_entropy(logits(), labels()));
    bench::set_bytes(state, logits_bytes());
}

void BM_ce_fused_fwd_bwd(benchmark::State& state) {
    ops::CrossEntropyOptions opt;
    if (state.range(0) == 1) {  // class weights and label smoothing
        opt.weight = full({kC}, 1.5);
        opt.label_smoothing = 0.1;
    }
    for (auto _ : state) {
        F::Variable x(logits(), true);
        F::cross_entropy(x, labels(), opt).backward();
        benchmark::DoNotOptimize(x.grad().data_ptr());
    }
    bench::set_bytes(state, 2.0 * logits_bytes());
}

// The two halves of fused_fwd_bwd without autograd: the forward that also writes the gradient
// buffer, and the backward's rescale.
void BM_ce_fused_fwd_grad_ops(benchmark::State& state) {
    for (auto _ : state)
        benchmark::DoNotOptimize(ops::cross_entropy_fused(logits(), labels(), {}, true).grad.data_ptr());
    bench::set_bytes(state, 2.0 * logits_bytes());
}

void BM_ce_fused_bwd_ops(benchmark::State& state) {
    const ops::PixelLossResult r = ops::cross_entropy_fused(logits(), labels(), {}, true);
    const Tensor one = ones({});
    for (auto _ : state) benchmark::DoNotOptimize(ops::pixel_loss_backward(one, r).data_ptr());
    bench::set_bytes(state, 2.0 * logits_bytes());
}

void BM_ce_composite_fwd_bwd(benchmark::State& state) {
    // One-hot of the labels with ignored pixels all-zero, and the valid count: built once.
    Tensor onehot = zeros({kN, kC, kH, kW});
    int64_t valid = 0;
    const int64_t hw = kH * kW;
    for (int64_t n = 0; n < kN; ++n)
        for (int64_t j = 0; j < hw; ++j) {
            const int64_t y = labels().data<int64_t>()[n * hw + j];
            if (y == 255) continue;
            onehot.data<float>()[(n * kC + y) * hw + j] = 1.f;
            ++valid;
        }
    for (auto _ : state) {
        F::Variable x(logits(), true);
        const F::Variable loss =
            F::mul(F::sum(F::mul(F::log_softmax(x, 1), F::Variable(onehot))), -1.0 / double(valid));
        loss.backward();
        benchmark::DoNotOptimize(x.grad().data_ptr());
    }
    bench::set_bytes(state, 2.0 * logits_bytes());
}

}  // namespace

BENCHMARK(BM_memcpy_logits)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ce_fused_fwd)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ce_fused_fwd_bwd)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ce_fused_fwd_grad_ops)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ce_fused_bwd_ops)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ce_composite_fwd_bwd)->Unit(benchmark::kMillisecond)->UseRealTime();
