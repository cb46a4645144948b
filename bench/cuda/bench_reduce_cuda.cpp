// CUDA reductions and softmax on segmentation shapes, with a device-to-device copy baseline.
// Timed with CUDA events, L2 flushed before each repeat (bench::run_cuda).
//
// GB/s convention: bytes the op must move at least once. The copy counts read + write (2 x size);
// a reduction counts the bytes read. Compare a reduction's GB/s with the copy's GB/s: both should
// sit near the HBM bandwidth when the kernel is bandwidth-bound.
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "core/copy.h"
#include "core/device.h"
#include "core/stream.h"
#include "kernels/reduce/reduce.h"
#include "kernels/softmax/softmax.h"

using namespace segcore;

namespace {

constexpr int64_t kBig = int64_t(1) << 27;  // 128M f32 = 512 MiB

Tensor make(const Shape& shape, DType t = DType::F32) { return randn(shape, {t, Device::cuda()}); }

void BM_cuda_copy_d2d(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor src = make({kBig});
    Tensor dst = empty_like(src);
    bench::run_cuda(state, [&] { memcpy_device(dst.data_ptr(), src.data_ptr(), src.nbytes(), current_stream()); });
    bench::set_bytes(state, 2.0 * double(src.nbytes()));
}

void BM_cuda_sum_all(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const DType t = state.range(0) == 0 ? DType::F32 : DType::BF16;
    const Tensor x = make({kBig}, t);
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::sum(x); });
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_cuda_sum_rows(benchmark::State& state) {  // (N*C, H*W): per-channel-image sums, inner contiguous
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make({8 * 64, 128 * 128});
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::sum(x, {1}); });
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_cuda_sum_nchw_keep_c(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make({8, 64, 128, 128});
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::sum(x, {0, 2, 3}); });
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_cuda_sum_columns(benchmark::State& state) {  // (N, C) -> (C): linear-layer bias gradient
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make({1 << 20, 64});
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::sum(x, {0}); });
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_cuda_var_mean_nchw_keep_c(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make({8, 64, 128, 128});
    std::pair<Tensor, Tensor> y;
    bench::run_cuda(state, [&] { y = ops::var_mean(x, {0, 2, 3}); });
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_cuda_var_all(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make({kBig});
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::var(x); });
    bench::set_bytes(state, double(x.nbytes()));
}

void BM_cuda_softmax_nchw_dim1(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const DType t = state.range(0) == 0 ? DType::F32 : DType::BF16;
    const Tensor x = make({8, 19, 256, 256}, t);
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::softmax(x, 1); });
    bench::set_bytes(state, 2.0 * double(x.nbytes()));  // read x + write y
}

void BM_cuda_log_softmax_last_dim(benchmark::State& state) {  // rows of 1000 classes
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make({65536, 1000});
    Tensor y;
    bench::run_cuda(state, [&] { y = ops::log_softmax(x, -1); });
    bench::set_bytes(state, 2.0 * double(x.nbytes()));
}

void BM_cuda_log_softmax_backward_nchw_dim1(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Tensor x = make({8, 19, 256, 256}), dy = make({8, 19, 256, 256});
    const Tensor y = ops::log_softmax(x, 1);
    Tensor dx;
    bench::run_cuda(state, [&] { dx = ops::log_softmax_backward(dy, y, 1); });
    bench::set_bytes(state, 3.0 * double(x.nbytes()));
}

}  // namespace

BENCHMARK(BM_cuda_copy_d2d)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_sum_all)->Arg(0)->Arg(1)->ArgName("bf16")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_sum_rows)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_sum_nchw_keep_c)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_sum_columns)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_var_mean_nchw_keep_c)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_var_all)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_softmax_nchw_dim1)->Arg(0)->Arg(1)->ArgName("bf16")->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_log_softmax_last_dim)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_cuda_log_softmax_backward_nchw_dim1)->UseManualTime()->Unit(benchmark::kMicrosecond);
