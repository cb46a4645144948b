// CUDA region losses (kernels/loss/dice.h, lovasz.h), forward + backward, on segmentation shapes
// (4x19x360x480, 8x19x512x1024), against the composite Dice made of generic ops (softmax, mul,
// sum, div) and a device-to-device copy of the logits, all in the same run. CUDA events, L2
// flushed before each repeat (bench::run_cuda). GB/s: bytes the fused pair must move at least
// once (logits twice, dx once, labels twice); the copy counts read + write.
#include <benchmark/benchmark.h>

#include "autograd/functions.h"
#include "bench/common/bench_util.h"
#include "bench/common/loss_region_bench.h"
#include "core/copy.h"
#include "core/stream.h"
#include "kernels/ops.h"

using namespace segcore;
namespace F = segcore::autograd;

namespace {

const bench::RegionLossInputs& inputs(int64_t which) {
    static const bench::RegionLossInputs small = bench::make_region_loss_inputs(4, 19, 360, 480, Device::cuda());
    if (which == 0) return small;
    static const bench::RegionLossInputs large = bench::make_region_loss_inputs(8, 19, 512, 1024, Device::cuda());
    return large;
}

void BM_cuda_copy_logits(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const auto& in = inputs(state.range(0));
    Tensor dst = empty_like(in.logits);
    bench::run_cuda(state, [&] {
        memcpy_device(dst.data_ptr(), in.logits.data_ptr(), in.logits.nbytes(), current_stream());
    });
    bench::set_bytes(state, 2.0 * double(in.logits.nbytes()));
}

void BM_cuda_dice_fused_fwd_bwd(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const auto& in = inputs(state.range(0));
    const Tensor go = full({}, 1.0, {DType::F32, Device::cuda()});
    Tensor dx;
    bench::run_cuda(state, [&] {
        const auto r = ops::dice_loss(in.logits, in.labels);  // includes the one 8-byte bad-label read-back
        dx = ops::dice_loss_backward(go, in.logits, in.labels, r.stats);
    });
    bench::set_bytes(state, bench::region_loss_bytes(in));
}

void BM_cuda_dice_composite_fwd_bwd(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const auto& in = inputs(state.range(0));
    Tensor dx;
    bench::run_cuda(state, [&] {
        F::Variable x(in.logits, true);
        F::Variable loss = bench::composite_dice(x, in);
        loss.backward();
        dx = x.grad();
    });
    bench::set_bytes(state, bench::region_loss_bytes(in));
}

void BM_cuda_lovasz_fwd_bwd(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const auto& in = inputs(state.range(0));
    const Tensor go = full({}, 1.0, {DType::F32, Device::cuda()});
    Tensor dx;
    bench::run_cuda(state, [&] {
        const auto r = ops::lovasz_softmax(in.logits, in.labels, {}, true);
        dx = ops::lovasz_softmax_backward(go, in.logits, r.dldp);
    });
    bench::set_bytes(state, bench::region_loss_bytes(in));
}

}  // namespace

// Arg 0: 4x19x360x480, arg 1: 8x19x512x1024.
BENCHMARK(BM_cuda_copy_logits)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_dice_fused_fwd_bwd)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_dice_composite_fwd_bwd)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_lovasz_fwd_bwd)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
