// CUDA fused losses on 4 x 19 x 360 x 480 and 8 x 19 x 512 x 1024 logits (Cityscapes at half and
// full crop), with a device-to-device copy of the logits as the bandwidth baseline in the same run.
// Timed with CUDA events, L2 flushed before each repeat (bench::run_cuda).
//
// GB/s convention: the bytes the op must move at least once.
//   ce_fwd            the logits read once (loss only)                       -> compare with copy/2
//   ce_fwd_grad       logits read + gradient written (the fused forward)     -> compare with copy
//   ce_bwd            gradient read + dx written
//   ohem_fwd_grad     as ce_fwd_grad; the radix select reads q (4 bytes/pixel) up to three times more
// Goal: ce_fwd_grad >= 80% of the copy's GB/s.
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "core/copy.h"
#include "core/device.h"
#include "core/stream.h"
#include "kernels/ops.h"

using namespace segcore;

namespace {

Shape shape_of(int64_t which) { return which == 0 ? Shape{4, 19, 360, 480} : Shape{8, 19, 512, 1024}; }

struct Data {
    Tensor x, y;
};

Data make(int64_t which, DType t) {
    const Shape s = shape_of(which);
    Data d;
    d.x = randn(s, {DType::F32, Device::cuda()}).to(t);
    // Labels in [0, 19) with ~5% ignored.
    const Tensor u = rand({s[0], s[2], s[3]});
    d.y = ops::where(ops::lt(u, 0.05), 255.0, randint(0, 19, {s[0], s[2], s[3]})).cuda();
    return d;
}

DType dtype_of(int64_t v) { return v == 0 ? DType::F32 : (v == 1 ? DType::F16 : DType::BF16); }

void BM_cuda_copy_logits(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor src = randn(shape_of(state.range(0)), {DType::F32, Device::cuda()});
    Tensor dst = empty_like(src);
    bench::run_cuda(state, [&] { memcpy_device(dst.data_ptr(), src.data_ptr(), src.nbytes(), current_stream()); });
    bench::set_bytes(state, 2.0 * double(src.nbytes()));
}

void BM_cuda_ce_fwd(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Data d = make(state.range(0), dtype_of(state.range(1)));
    ops::CrossEntropyOptions opt;
    opt.check_labels = false;
    Tensor l;
    bench::run_cuda(state, [&] { l = ops::cross_entropy(d.x, d.y, opt); });
    bench::set_bytes(state, double(d.x.nbytes()));
}

void BM_cuda_ce_fwd_grad(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Data d = make(state.range(0), dtype_of(state.range(1)));
    ops::CrossEntropyOptions opt;
    opt.check_labels = state.range(2) != 0;  // 1: with the label check's read-back (a sync)
    ops::PixelLossResult r;
    bench::run_cuda(state, [&] { r = ops::cross_entropy_fused(d.x, d.y, opt, true); });
    bench::set_bytes(state, 2.0 * double(d.x.nbytes()));
}

void BM_cuda_ce_bwd(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Data d = make(state.range(0), dtype_of(state.range(1)));
    const ops::PixelLossResult r = ops::cross_entropy_fused(d.x, d.y, {}, true);
    const Tensor one = ones({}, {DType::F32, Device::cuda()});
    Tensor dx;
    bench::run_cuda(state, [&] { dx = ops::pixel_loss_backward(one, r); });
    bench::set_bytes(state, 2.0 * double(d.x.nbytes()));
}

void BM_cuda_ohem_fwd_grad(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Data d = make(state.range(0), DType::F32);
    ops::OhemOptions opt;
    opt.thresh = state.range(1) == 0 ? 0.7 : 0.0;  // 0.0: threshold from the radix select every time
    opt.min_kept = 100000;
    opt.check_labels = false;
    ops::PixelLossResult r;
    bench::run_cuda(state, [&] { r = ops::ohem_cross_entropy_fused(d.x, d.y, opt, true); });
    bench::set_bytes(state, 2.0 * double(d.x.nbytes()));
}

void BM_cuda_kd_fwd_grad(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Data d = make(state.range(0), DType::F32);
    const Tensor t = randn(d.x.shape(), {DType::F32, Device::cuda()});
    ops::KdLossOptions opt;
    opt.temperature = 4.0;
    ops::PixelLossResult r;
    bench::run_cuda(state, [&] { r = ops::kd_loss_fused(d.x, t, Tensor(), opt, true); });
    bench::set_bytes(state, 3.0 * double(d.x.nbytes()));
}

}  // namespace

BENCHMARK(BM_cuda_copy_logits)->Arg(0)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_ce_fwd)->Args({0, 0})->Args({1, 0})->Args({1, 2})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_ce_fwd_grad)
    ->Args({0, 0, 0})
    ->Args({1, 0, 0})
    ->Args({1, 1, 0})
    ->Args({1, 2, 0})
    ->Args({1, 0, 1})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_ce_bwd)->Args({1, 0})->Args({1, 2})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_ohem_fwd_grad)->Args({1, 0})->Args({1, 1})->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_kd_fwd_grad)->Arg(1)->UseManualTime()->Unit(benchmark::kMicrosecond);
