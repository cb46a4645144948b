// CPU pooling, resizing and dropout on segmentation shapes, with a memcpy baseline in the same run.
//
// Shapes: batch 8 x 64 channels at 360 x 480 (CamVid / SegNet's first stage) and, to keep memory
// under 2 GB on a build machine, batch 2 x 64 at 512 x 1024 (Cityscapes crops); adaptive pooling
// runs on PSPNet's 1/8-resolution features (8 x 256 x 64 x 128) into 1, 2, 3 and 6 bins; the x8
// upsampling is the logits (8 x 19 classes) going back to label size.
// GB/s convention: bytes the op must move at least once — input read + output written (+ the i64
// indices of max pooling). memcpy counts read + write (2 x size).
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "kernels/dropout/dropout.h"
#include "kernels/pool/avg_pool2d.h"
#include "kernels/pool/max_pool2d.h"
#include "kernels/resize/interpolate.h"

using namespace segcore;

namespace {

// range(0) = 0: 8 x 64 x 360 x 480; 1: 2 x 64 x 512 x 1024.
Shape activation(int64_t which) { return which == 0 ? Shape{8, 64, 360, 480} : Shape{2, 64, 512, 1024}; }

double bytes_of(const Tensor& t) { return double(t.nbytes()); }

void BM_memcpy(benchmark::State& state) {
    const Tensor src = randn(activation(state.range(0)));
    Tensor dst = empty_like(src);
    for (auto _ : state) {
        dst.copy_(src);
        benchmark::DoNotOptimize(dst.data_ptr());
    }
    bench::set_bytes(state, 2.0 * bytes_of(src));
}

void BM_max_pool_3x3s2(benchmark::State& state) {
    const Tensor x = randn(activation(state.range(0)));
    const auto o = ops::MaxPool2dOptions::make(3, 2, 1);
    std::pair<Tensor, Tensor> r;
    for (auto _ : state) benchmark::DoNotOptimize(r = ops::max_pool2d(x, o));
    bench::set_bytes(state, bytes_of(x) + bytes_of(r.first) + bytes_of(r.second));
}

void BM_max_pool_3x3s2_backward(benchmark::State& state) {
    const Tensor x = randn(activation(state.range(0)));
    const auto o = ops::MaxPool2dOptions::make(3, 2, 1);
    auto [y, idx] = ops::max_pool2d(x, o);
    const Tensor dy = randn(y.shape());
    Tensor dx;
    for (auto _ : state) benchmark::DoNotOptimize(dx = ops::max_pool2d_backward(dy, idx, x.shape(), o));
    bench::set_bytes(state, bytes_of(dy) + bytes_of(idx) + bytes_of(dx));
}

void BM_max_unpool_2x2(benchmark::State& state) {  // SegNet decoder
    const Tensor x = randn(activation(state.range(0)));
    auto [y, idx] = ops::max_pool2d(x, ops::MaxPool2dOptions::make(2));
    Tensor u;
    for (auto _ : state) benchmark::DoNotOptimize(u = ops::max_unpool2d(y, idx, x.size(2), x.size(3)));
    bench::set_bytes(state, bytes_of(y) + bytes_of(idx) + bytes_of(u));
}

void BM_bilinear_up_x2(benchmark::State& state) {  // decoder upsampling, output = the activation
    const Shape a = activation(state.range(0));
    const Tensor x = randn({a[0], a[1], a[2] / 2, a[3] / 2});
    const auto o = ops::InterpolateOptions::scale(2, 2, kernels::InterpMode::Bilinear, state.range(1) != 0);
    Tensor y;
    for (auto _ : state) benchmark::DoNotOptimize(y = ops::interpolate(x, o));
    bench::set_bytes(state, bytes_of(x) + bytes_of(y));
}

void BM_bilinear_up_x2_backward(benchmark::State& state) {
    const Shape a = activation(state.range(0));
    const Shape xs{a[0], a[1], a[2] / 2, a[3] / 2};
    const auto o = ops::InterpolateOptions::scale(2, 2);
    const Tensor dy = randn(a);
    Tensor dx;
    for (auto _ : state) benchmark::DoNotOptimize(dx = ops::interpolate_backward(dy, xs, o));
    bench::set_bytes(state, bytes_of(dy) + bytes_of(dx));
}

void BM_bilinear_logits_x8(benchmark::State& state) {  // 19-class logits at 1/8 back to label size
    const Shape a = activation(state.range(0));
    const Tensor x = randn({a[0], 19, a[2] / 8, a[3] / 8});
    const auto o = ops::InterpolateOptions::size(a[2], a[3]);
    Tensor y;
    for (auto _ : state) benchmark::DoNotOptimize(y = ops::interpolate(x, o));
    bench::set_bytes(state, bytes_of(x) + bytes_of(y));
}

void BM_nearest_up_x2(benchmark::State& state) {
    const Shape a = activation(state.range(0));
    const Tensor x = randn({a[0], a[1], a[2] / 2, a[3] / 2});
    const auto o = ops::InterpolateOptions::scale(2, 2, kernels::InterpMode::Nearest);
    Tensor y;
    for (auto _ : state) benchmark::DoNotOptimize(y = ops::interpolate(x, o));
    bench::set_bytes(state, bytes_of(x) + bytes_of(y));
}

void BM_adaptive_avg_pool_psp(benchmark::State& state) {  // PSPNet pyramid on 1/8 features
    const Tensor x = randn({8, 256, 64, 128});
    const int64_t bins = state.range(0);
    Tensor y;
    for (auto _ : state) benchmark::DoNotOptimize(y = ops::adaptive_avg_pool2d(x, bins, bins));
    bench::set_bytes(state, bytes_of(x) + bytes_of(y));
}

void BM_avg_pool_3x3s2(benchmark::State& state) {
    const Tensor x = randn(activation(state.range(0)));
    const auto o = ops::AvgPool2dOptions::make(3, 2, 1);
    Tensor y;
    for (auto _ : state) benchmark::DoNotOptimize(y = ops::avg_pool2d(x, o));
    bench::set_bytes(state, bytes_of(x) + bytes_of(y));
}

void BM_dropout2d(benchmark::State& state) {
    const Tensor x = randn(activation(state.range(0)));
    Generator g(1);
    std::pair<Tensor, Tensor> r;
    for (auto _ : state) benchmark::DoNotOptimize(r = ops::dropout2d(x, 0.1, &g));
    bench::set_bytes(state, 2.0 * bytes_of(x));
}

void BM_dropout(benchmark::State& state) {
    const Tensor x = randn(activation(state.range(0)));
    Generator g(1);
    std::pair<Tensor, Tensor> r;
    for (auto _ : state) benchmark::DoNotOptimize(r = ops::dropout(x, 0.1, &g));
    bench::set_bytes(state, 2.0 * bytes_of(x) + double(x.numel()));  // + the bool mask
}

}  // namespace

#define SHAPES ->Arg(0)->Arg(1)->ArgName("shape")->Unit(benchmark::kMillisecond)->UseRealTime()
BENCHMARK(BM_memcpy) SHAPES;
BENCHMARK(BM_max_pool_3x3s2) SHAPES;
BENCHMARK(BM_max_pool_3x3s2_backward) SHAPES;
BENCHMARK(BM_max_unpool_2x2) SHAPES;
BENCHMARK(BM_avg_pool_3x3s2) SHAPES;
BENCHMARK(BM_bilinear_up_x2)
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->ArgNames({"shape", "align"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_bilinear_up_x2_backward) SHAPES;
BENCHMARK(BM_bilinear_logits_x8) SHAPES;
BENCHMARK(BM_nearest_up_x2) SHAPES;
BENCHMARK(BM_adaptive_avg_pool_psp)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->Arg(6)
    ->ArgName("bins")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_dropout) SHAPES;
BENCHMARK(BM_dropout2d) SHAPES;
