// CPU reductions and softmax on segmentation shapes, with a memcpy baseline in the same run.
//
// GB/s convention: bytes the op must move at least once. memcpy counts read + write (2 x size);
// a full sum counts the bytes read (1 x size). A sum "at memcpy speed" therefore shows about half
// memcpy's GB/s if memcpy is write-allocate bound; compare sum's GB/s with memcpy's GB/s directly
// to see the read-bandwidth ratio (the target is >= 0.8).
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "kernels/reduce/reduce.h"
#include "kernels/softmax/softmax.h"

using namespace segcore;

namespace {

constexpr int64_t kBig = int64_t(1) << 25;  // 32M f32 = 128 MiB: far beyond the caches

const Tensor& big() {
    static const Tensor t = randn({kBig});
    return t;
}

void BM_memcpy(benchmark::State& state) {
    const Tensor& src = big();
    Tensor dst = empty_like(src);
    for (auto _ : state) {
        dst.copy_(src);  // parallel memcpy (core/copy_cpu.cpp)
        benchmark::DoNotOptimize(dst.data_ptr());
    }
    bench::set_bytes(state, 2.0 * double(src.nbytes()));
}

void BM_sum_all(benchmark::State& state) {
    const Tensor& x = big();
    for (auto _ : state) benchmark::DoNotOptimize(ops::sum(x));
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_sum_nchw_keep_c(benchmark::State& state) {  // bias gradient / BatchNorm sum over (N, H, W)
    const Tensor x = randn({8, 64, 128, 128});
    for (auto _ : state) benchmark::DoNotOptimize(ops::sum(x, {0, 2, 3}));
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_var_all(benchmark::State& state) {
    const Tensor& x = big();
    for (auto _ : state) benchmark::DoNotOptimize(ops::var(x));
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_var_mean_nchw_keep_c(benchmark::State& state) {  // BatchNorm statistics
    const Tensor x = randn({8, 64, 128, 128});
    for (auto _ : state) benchmark::DoNotOptimize(ops::var_mean(x, {0, 2, 3}));
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_softmax_nchw_dim1(benchmark::State& state) {  // Cityscapes-like logits, 19 classes
    const Tensor x = randn({8, 19, 256, 256});
    for (auto _ : state) benchmark::DoNotOptimize(ops::softmax(x, 1));
    bench::set_bytes(state, 2.0 * double(x.nbytes()));  // read x + write y
}

void BM_log_softmax_backward_nchw_dim1(benchmark::State& state) {
    const Tensor x = randn({8, 19, 256, 256}), dy = randn({8, 19, 256, 256});
    const Tensor y = ops::log_softmax(x, 1);
    for (auto _ : state) benchmark::DoNotOptimize(ops::log_softmax_backward(dy, y, 1));
    bench::set_bytes(state, 3.0 * double(x.nbytes()));  // read dy, y + write dx
}

}  // namespace

BENCHMARK(BM_memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sum_all)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sum_nchw_keep_c)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_var_all)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_var_mean_nchw_keep_c)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_softmax_nchw_dim1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_log_softmax_backward_nchw_dim1)->Unit(benchmark::kMillisecond)->UseRealTime();
