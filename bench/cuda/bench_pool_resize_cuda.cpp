// CUDA pooling, resizing and dropout on segmentation shapes, with a device-to-device copy baseline
// of the same activation in the same run. Timed with CUDA events, L2 flushed before each repeat
// (bench::run_cuda).
//
// Shapes: batch 8 x 64 channels at 360 x 480 (CamVid / SegNet) and 512 x 1024 (Cityscapes crops);
// 256 channels at 1/8 resolution (8 x 256 x 64 x 128) for PSPNet's adaptive pooling into 1, 2, 3
// and 6 bins; logits (19 classes) upsampled x8 back to label size. range(1) = 1 runs bf16.
// GB/s convention: bytes the op must move at least once — input read + output written (+ the i64
// indices of max pooling, the bool mask of dropout). Compare with the copy's GB/s (read + write).
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "core/copy.h"
#include "core/device.h"
#include "core/stream.h"
#include "kernels/dropout/dropout.h"
#include "kernels/pool/avg_pool2d.h"
#include "kernels/pool/max_pool2d.h"
#include "kernels/resize/interpolate.h"

using namespace segcore;

namespace {

Shape activation(int64_t which) { return which == 0 ? Shape{8, 64, 360, 480} : Shape{8, 64, 512, 1024}; }
DType dtype_arg(const benchmark::State& state) { return state.range(1) == 0 ? DType::F32 : DType::BF16; }
Tensor make(const Shape& s, DType t) { return randn(s, {DType::F32, Device::cuda()}).to(t); }
double bytes_of(const Tensor& t) { return double(t.nbytes()); }

void BM_cuda_copy_d2d(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor src = make(activation(state.range(0)), dtype_arg(state));
    Tensor dst = empty_like(src);
    bench::run_cuda(state, [&] { memcpy_device(dst.data_ptr(), src.data_ptr(), src.nbytes(), current_stream()); });
    bench::set_bytes(state, 2.0 * bytes_of(src));
}

void BM_cuda_max_pool_3x3s2(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make(activation(state.range(0)), dtype_arg(state));
    const auto o = ops::MaxPool2dOptions::make(3, 2, 1);
    std::pair<Tensor, Tensor> r;
    bench::run_cuda(state, [&] { r = ops::max_pool2d(x, o); });
    bench::set_bytes(state, bytes_of(x) + bytes_of(r.first) + bytes_of(r.second));
}

void BM_cuda_max_pool_3x3s2_backward(benchmark::State& state) {  // the gather
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make(activation(state.range(0)), dtype_arg(state));
    const auto o = ops::MaxPool2dOptions::make(3, 2, 1);
    auto [y, idx] = ops::max_pool2d(x, o);
    const Tensor dy = make(y.shape(), x.dtype());
    Tensor dx;
    bench::run_cuda(state, [&] { dx = ops::max_pool2d_backward(dy, idx, x.shape(), o); });
    bench::set_bytes(state, bytes_of(dy) + bytes_of(idx) + bytes_of(dx));
}

void BM_cuda_max_unpool_2x2(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make(activation(state.range(0)), dtype_arg(state));
    auto [y, idx] = ops::max_pool2d(x, ops::MaxPool2dOptions::make(2));
    Tensor u;
    bench::run_cuda(state, [&] { u = ops::max_unpool2d(y, idx, x.size(2), x.size(3)); });
    bench::set_bytes(state, bytes_of(y) + bytes_of(idx) + bytes_of(u));
}

void BM_cuda_avg_pool_3x3s2(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make(activation(state.range(0)), dtype_arg(state));
    const auto o = ops::AvgPool2dOptions::make(3, 2, 1);
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::avg_pool2d(x, o); });
    bench::set_bytes(state, bytes_of(x) + bytes_of(y));
}

void BM_cuda_bilinear_up_x2(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Shape a = activation(state.range(0));
    const Tensor x = make({a[0], a[1], a[2] / 2, a[3] / 2}, dtype_arg(state));
    const auto o = ops::InterpolateOptions::scale(2, 2);
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::interpolate(x, o); });
    bench::set_bytes(state, bytes_of(x) + bytes_of(y));
}

void BM_cuda_bilinear_up_x2_backward(benchmark::State& state) {  // the gather
    if (!bench::require_cuda_device(state)) return;
    const Shape a = activation(state.range(0));
    const Shape xs{a[0], a[1], a[2] / 2, a[3] / 2};
    const auto o = ops::InterpolateOptions::scale(2, 2);
    const Tensor dy = make(a, dtype_arg(state));
    Tensor dx;
    bench::run_cuda(state, [&] { dx = ops::interpolate_backward(dy, xs, o); });
    bench::set_bytes(state, bytes_of(dy) + bytes_of(dx));
}

void BM_cuda_bilinear_logits_x8(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Shape a = activation(state.range(0));
    const Tensor x = make({a[0], 19, a[2] / 8, a[3] / 8}, dtype_arg(state));
    const auto o = ops::InterpolateOptions::size(a[2], a[3]);
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::interpolate(x, o); });
    bench::set_bytes(state, bytes_of(x) + bytes_of(y));
}

void BM_cuda_bilinear_logits_x8_backward(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Shape a = activation(state.range(0));
    const Shape xs{a[0], 19, a[2] / 8, a[3] / 8};
    const auto o = ops::InterpolateOptions::size(a[2], a[3]);
    const Tensor dy = make({a[0], 19, a[2], a[3]}, dtype_arg(state));
    Tensor dx;
    bench::run_cuda(state, [&] { dx = ops::interpolate_backward(dy, xs, o); });
    bench::set_bytes(state, bytes_of(dy) + bytes_of(dx));
}

void BM_cuda_adaptive_avg_pool_psp(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make({8, 256, 64, 128}, dtype_arg(state));
    const int64_t bins = state.range(0);
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::adaptive_avg_pool2d(x, bins, bins); });
    bench::set_bytes(state, bytes_of(x) + bytes_of(y));
}

void BM_cuda_dropout(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make(activation(state.range(0)), dtype_arg(state));
    Generator g(1);
    std::pair<Tensor, Tensor> r;
    bench::run_cuda(state, [&] { r = ops::dropout(x, 0.1, &g); });
    bench::set_bytes(state, 2.0 * bytes_of(x) + double(x.numel()));
}

void BM_cuda_dropout2d(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make(activation(state.range(0)), dtype_arg(state));
    Generator g(1);
    std::pair<Tensor, Tensor> r;
    bench::run_cuda(state, [&] { r = ops::dropout2d(x, 0.1, &g); });
    bench::set_bytes(state, 2.0 * bytes_of(x));
}

}  // namespace

#define SHAPES \
    ->ArgsProduct({{0, 1}, {0, 1}})->ArgNames({"shape", "bf16"})->UseManualTime()->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_cuda_copy_d2d) SHAPES;
BENCHMARK(BM_cuda_max_pool_3x3s2) SHAPES;
BENCHMARK(BM_cuda_max_pool_3x3s2_backward) SHAPES;
BENCHMARK(BM_cuda_max_unpool_2x2) SHAPES;
BENCHMARK(BM_cuda_avg_pool_3x3s2) SHAPES;
BENCHMARK(BM_cuda_bilinear_up_x2) SHAPES;
BENCHMARK(BM_cuda_bilinear_up_x2_backward) SHAPES;
BENCHMARK(BM_cuda_bilinear_logits_x8) SHAPES;
BENCHMARK(BM_cuda_bilinear_logits_x8_backward) SHAPES;
BENCHMARK(BM_cuda_dropout) SHAPES;
BENCHMARK(BM_cuda_dropout2d) SHAPES;
BENCHMARK(BM_cuda_adaptive_avg_pool_psp)
    ->ArgsProduct({{1, 2, 3, 6}, {0, 1}})
    ->ArgNames({"bins", "bf16"})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
