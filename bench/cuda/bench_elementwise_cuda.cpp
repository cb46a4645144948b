// CUDA elementwise bandwidth on a segmentation activation, 8 x 64 x 256 x 256, for f32, f16 and
// bf16 (Arg: 0 = f32, 1 = f16, 2 = bf16), against a device-to-device copy of the same tensor
// (Tensor::copy_, i.e. cudaMemcpyAsync). GB/s counts reads + writes (add: 3 tensors, relu: 2);
// H200 HBM3e peaks near 4.8 TB/s. Outputs are preallocated, so only the kernels are timed; the L2
// is flushed before each repeat (bench::run_cuda).
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "core/device.h"
#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/common/dispatch.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"

using namespace segcore;

namespace {

const Shape kShape{8, 64, 256, 256};

DType dtype_arg(const benchmark::State& state) {
    static const DType kTypes[] = {DType::F32, DType::F16, DType::BF16};
    return kTypes[state.range(0)];
}
double nbytes(DType t, int tensors) { return double(shape_numel(kShape)) * double(dtype_size(t)) * tensors; }
void label(benchmark::State& state) { state.SetLabel(dtype_name(dtype_arg(state))); }

void BM_copy_cuda(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const DType t = dtype_arg(state);
    const Tensor src = randn(kShape, {t, Device::cuda()});
    Tensor dst = zeros(kShape, {t, Device::cuda()});
    bench::run_cuda(state, [&] { dst.copy_(src); });
    bench::set_bytes(state, nbytes(t, 2));
    label(state);
}
BENCHMARK(BM_copy_cuda)->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);

void run_binary(benchmark::State& state, kernels::BinaryOp op, const Shape& b_shape) {
    if (!bench::require_cuda_device(state)) return;
    const DType t = dtype_arg(state);
    const Tensor a = randn(kShape, {t, Device::cuda()}), b = randn(b_shape, {t, Device::cuda()});
    Tensor out = zeros(kShape, {t, Device::cuda()});
    const Tensor be = b.expand(kShape);
    const auto g = make_geometry<3>(kShape, {&out.strides(), &a.strides(), &be.strides()});
    visit_cuda_float_dtype(t, "bench", [&](auto tag) {
        using T = typename decltype(tag)::type;
        bench::run_cuda(state, [&] {
            kernels::binary_cuda<T>({op, 1.0}, g, out.data<T>(), a.data<T>(), b.data<T>(), current_stream());
        });
    });
    bench::set_bytes(state, nbytes(t, b_shape == kShape ? 3 : 2));
    label(state);
}

void run_unary(benchmark::State& state, kernels::UnaryParams p) {
    if (!bench::require_cuda_device(state)) return;
    const DType t = dtype_arg(state);
    const Tensor x = randn(kShape, {t, Device::cuda()});
    Tensor y = zeros(kShape, {t, Device::cuda()});
    const auto g = make_geometry<2>(kShape, {&y.strides(), &x.strides()});
    visit_cuda_float_dtype(t, "bench", [&](auto tag) {
        using T = typename decltype(tag)::type;
        bench::run_cuda(state, [&] { kernels::unary_cuda<T>(p, g, y.data<T>(), x.data<T>(), current_stream()); });
    });
    bench::set_bytes(state, nbytes(t, 2));
    label(state);
}

void BM_add_cuda(benchmark::State& state) { run_binary(state, kernels::BinaryOp::Add, kShape); }
BENCHMARK(BM_add_cuda)->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);
void BM_mul_cuda(benchmark::State& state) { run_binary(state, kernels::BinaryOp::Mul, kShape); }
BENCHMARK(BM_mul_cuda)->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);
// Per-channel bias (1, C, 1, 1): the strided path with one broadcast operand.
void BM_add_bias_cuda(benchmark::State& state) { run_binary(state, kernels::BinaryOp::Add, {1, 64, 1, 1}); }
BENCHMARK(BM_add_bias_cuda)->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_relu_cuda(benchmark::State& state) { run_unary(state, {kernels::UnaryOp::Relu}); }
BENCHMARK(BM_relu_cuda)->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);
void BM_exp_cuda(benchmark::State& state) { run_unary(state, {kernels::UnaryOp::Exp}); }
BENCHMARK(BM_exp_cuda)->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);
void BM_gelu_cuda(benchmark::State& state) { run_unary(state, {kernels::UnaryOp::Gelu}); }
BENCHMARK(BM_gelu_cuda)->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);
void BM_hardswish_cuda(benchmark::State& state) { run_unary(state, {kernels::UnaryOp::Hardswish}); }
BENCHMARK(BM_hardswish_cuda)->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Through ops:: in place on a transposed view (the strided path with index arithmetic).
void BM_relu_inplace_transposed_cuda(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const DType t = dtype_arg(state);
    Tensor base = randn(kShape, {t, Device::cuda()});
    Tensor x = base.transpose(2, 3);
    bench::run_cuda(state, [&] { ops::relu_(x); });
    bench::set_bytes(state, nbytes(t, 2));
    label(state);
}
BENCHMARK(BM_relu_inplace_transposed_cuda)->DenseRange(0, 2)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
