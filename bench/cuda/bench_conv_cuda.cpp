// CUDA convolutions and batch norm on segmentation shapes: segcore's native kernels against
// cuDNN, side by side in the same run, for f32 / f16 / bf16. FLOPs count 2 per multiply-add over
// the full R x S window (the cuDNN convention). Floors on an H200: ~67 TFLOP/s f32 without TF32,
// ~990 TFLOP/s dense f16/bf16; depthwise layers are memory-bound (GB/s is the figure to read).
// Read each native row against the cudnn row with the same arguments: that ratio is the result.
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "kernels/conv/conv_backend.h"
#include "kernels/ops.h"

using namespace segcore;
using kernels::ConvBackend;

namespace {

struct Shape4 {
    const char* name;
    int64_t n, c, h, w, k, r, stride, pad, dil, groups;
};

// Batch 8 at 512 x 1024 (Cityscapes half resolution) and 360 x 480 (CamVid).
const Shape4 kShapes[] = {
    {"unet_enc1_3x3_64", 8, 64, 512, 1024, 64, 3, 1, 1, 1, 1},
    {"resnet_layer1_3x3_64@1/4", 8, 64, 128, 256, 64, 3, 1, 1, 1, 1},
    {"resnet_bottleneck_1x1_256to64@1/8", 8, 256, 64, 128, 64, 1, 1, 0, 1, 1},
    {"deeplab_aspp_3x3_rate12_2048to256@1/8", 8, 2048, 64, 128, 256, 3, 1, 12, 12, 1},
    {"mobilenetv2_dw_3x3_144@1/4", 8, 144, 128, 256, 144, 3, 1, 1, 1, 144},
    {"mobilenetv2_dw_3x3_s2_96@1/2", 8, 96, 256, 512, 96, 3, 2, 1, 1, 96},
    {"camvid_unet_enc2_3x3_128", 8, 128, 180, 240, 128, 3, 1, 1, 1, 1},
};

ops::Conv2dOptions options_of(const Shape4& s, ConvBackend b) {
    auto o = ops::Conv2dOptions::make(s.stride, s.pad, s.dil, s.groups);
    o.backend = b;
    return o;
}

double flops(const Shape4& s, const kernels::Conv2dParams& p) {
    return 2.0 * double(p.n * p.k * p.p * p.q) * double(s.c / s.groups * s.r * s.r);
}

// Args: shape index, dtype, backend, pass (0 forward, 1 input grad, 2 weight grad).
void BM_conv(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Shape4& s = kShapes[state.range(0)];
    const DType dt = DType(state.range(1));
    const ConvBackend be = ConvBackend(state.range(2));
    const int pass = int(state.range(3));
    if (be == ConvBackend::Cudnn && !cudnn_compiled()) {
        state.SkipWithError("this build has no cuDNN");
        return;
    }
    state.SetLabel(s.name);
    const auto opt = options_of(s, be);
    const auto p = ops::conv2d_params({s.n, s.c, s.h, s.w}, {s.k, s.c / s.groups, s.r, s.r}, opt);
    Generator gen(1);
    const TensorOptions o(dt, Device::cuda());
    const Tensor x = randn({s.n, s.c, s.h, s.w}, o, &gen), w = randn({s.k, s.c / s.groups, s.r, s.r}, o, &gen);
    const Tensor dy = randn({p.n, p.k, p.p, p.q}, o, &gen);
    bench::run_cuda(state, [&] {
        if (pass == 0) benchmark::DoNotOptimize(ops::conv2d(x, w, Tensor(), opt));
        else if (pass == 1) benchmark::DoNotOptimize(ops::conv2d_backward_input(dy, w, x.shape(), opt));
        else benchmark::DoNotOptimize(ops::conv2d_backward_weight(x, dy, w.shape(), false, opt));
    });
    bench::set_flops(state, flops(s, p));
    // Bytes the pass must move at least once (inputs read, output written): the memory floor.
    const double in_bytes = double(x.nbytes()), w_bytes = double(w.nbytes()), y_bytes = double(dy.nbytes());
    bench::set_bytes(state, pass == 0 ? in_bytes + w_bytes + y_bytes
                            : pass == 1 ? y_bytes + w_bytes + in_bytes
                                        : in_bytes + y_bytes + w_bytes);
}

void conv_args(benchmark::internal::Benchmark* bm) {
    bm->ArgNames({"shape", "dtype", "backend", "pass"});
    for (int64_t i = 0; i < int64_t(std::size(kShapes)); ++i)
        for (const DType dt : {DType::F32, DType::BF16, DType::F16})
            for (int64_t pass = 0; pass < 3; ++pass)
                for (const ConvBackend be : {ConvBackend::Native, ConvBackend::Cudnn})
                    bm->Args({i, int64_t(dt), int64_t(be), pass});
}

// Batch norm (training forward + backward) with fused ReLU: memory-bound, GB/s against copy.
void BM_batch_norm_relu(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const DType dt = DType(state.range(0));
    Generator gen(2);
    const Tensor x = randn({8, 64, 512, 1024}, {dt, Device::cuda()}, &gen), dy = randn(x.shape(), {dt, Device::cuda()}, &gen);
    const Tensor g = ones({64}, {DType::F32, Device::cuda()}), b = zeros({64}, {DType::F32, Device::cuda()});
    Tensor rm = zeros({64}, {DType::F32, Device::cuda()}), rv = ones({64}, {DType::F32, Device::cuda()});
    bench::run_cuda(state, [&] {
        const auto r = ops::batch_norm(x, g, b, rm, rv, true, 0.1, 1e-5, kernels::Act::Relu);
        benchmark::DoNotOptimize(ops::batch_norm_backward(dy, x, r.save_mean, r.save_invstd, g, b, true, kernels::Act::Relu));
    });
    // forward: read x twice, write y; backward: read dy, x twice, write dx.
    bench::set_bytes(state, double(x.nbytes()) * 7.0);
}

}  // namespace

// dtype: 0 f32, 2 f16, 3 bf16; backend: 1 native, 2 cudnn.
BENCHMARK(BM_conv)->Apply(conv_args)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_batch_norm_relu)->Arg(int64_t(DType::F32))->Arg(int64_t(DType::BF16))->UseManualTime()->Unit(benchmark::kMillisecond);
