// CPU region losses (kernels/loss/dice.h, lovasz.h), forward + backward, on segmentation shapes
// (CamVid 4x19x360x480, Cityscapes crops 8x19x512x1024), against the composite Dice made of
// generic ops (softmax, mul, sum, div; bench/common/loss_region_bench.h) in the same run.
// GB/s: bytes the fused pair must move at least once (logits twice, dx once, labels twice).
#include <benchmark/benchmark.h>

#include "autograd/functions.h"
#include "bench/common/bench_util.h"
#include "bench/common/loss_region_bench.h"
#include "kernels/ops.h"

using namespace segcore;
namespace F = segcore::autograd;

namespace {

const bench::RegionLossInputs& inputs(int64_t which) {
    static const bench::RegionLossInputs small = bench::make_region_loss_inputs(4, 19, 360, 480, Device::cpu());
    if (which == 0) return small;
    static const bench::RegionLossInputs large = bench::make_region_loss_inputs(8, 19, 512, 1024, Device::cpu());
    return large;
}

void BM_dice_fused_fwd_bwd(benchmark::State& state) {
    const auto& in = inputs(state.range(0));
    const Tensor go = full({}, 1.0, {DType::F32});
    for (auto _ : state) {
        const auto r = ops::dice_loss(in.logits, in.labels);
        benchmark::DoNotOptimize(ops::dice_loss_backward(go, in.logits, in.labels, r.stats).data_ptr());
    }
    bench::set_bytes(state, bench::region_loss_bytes(in));
}

void BM_dice_composite_fwd_bwd(benchmark::State& state) {
    const auto& in = inputs(state.range(0));
    for (auto _ : state) {
        F::Variable x(in.logits, true);
        F::Variable loss = bench::composite_dice(x, in);
        loss.backward();
        benchmark::DoNotOptimize(x.grad().data_ptr());
    }
    bench::set_bytes(state, bench::region_loss_bytes(in));
}

void BM_lovasz_fwd_bwd(benchmark::State& state) {
    const auto& in = inputs(state.range(0));
    const Tensor go = full({}, 1.0, {DType::F32});
    for (auto _ : state) {
        const auto r = ops::lovasz_softmax(in.logits, in.labels, {}, true);
        benchmark::DoNotOptimize(ops::lovasz_softmax_backward(go, in.logits, r.dldp).data_ptr());
    }
    bench::set_bytes(state, bench::region_loss_bytes(in));
}

}  // namespace

// Arg 0: 4x19x360x480, arg 1: 8x19x512x1024.
BENCHMARK(BM_dice_fused_fwd_bwd)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_dice_composite_fwd_bwd)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lovasz_fwd_bwd)->Arg(0)->Unit(benchmark::kMillisecond);
