// The ops registered in the kernel lab (apps/lab/lab.h). Each make function builds seeded inputs
// for one case, and returns our op, its f64 CPU oracle on the same (dtype-rounded) inputs, the
// baseline, and the bytes/FLOPs the op must at least move/do. Suites: "seg" — realistic
// segmentation shapes (batch 8 at 512x1024 or 360x480); "tiny" — seconds on a CPU, for tests.
#include "apps/lab/lab.h"

#include "kernels/conv/conv_backend.h"
#include "kernels/loss/cross_entropy.h"
#include "kernels/loss/dice.h"
#include "kernels/metrics/confusion.h"
#include "kernels/ops.h"
#include "kernels/pool/max_pool2d.h"
#include "kernels/resize/interpolate.h"

namespace segcore::lab {

namespace {

Tensor input(const Shape& s, DType dt, Device d, uint64_t seed) {
    Generator g(seed);
    return randn(s, {DType::F32}, &g).to(d, dt);  // drawn in f32, rounded once to dt
}
Tensor oracle_input(const Tensor& t) { return t.to(Device::cpu(), DType::F64); }

Case conv_case(const char* name, int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t stride,
               int64_t pad, int64_t dil, int64_t groups) {
    return {name, {{"n", n}, {"c", c}, {"h", h}, {"w", w}, {"k", k}, {"r", r}, {"stride", stride}, {"pad", pad},
                   {"dil", dil}, {"groups", groups}}};
}

// conv2d forward; the baseline is cuDNN on CUDA (when built), none on the CPU.
Workload make_conv(const Case& c, DType dt, Device d) {
    const Tensor x = input({c.at("n"), c.at("c"), c.at("h"), c.at("w")}, dt, d, 1);
    const Tensor w = input({c.at("k"), c.at("c") / c.at("groups"), c.at("r"), c.at("r")}, dt, d, 2);
    auto opt = ops::Conv2dOptions::make(c.at("stride"), c.at("pad"), c.at("dil"), c.at("groups"));
    opt.backend = kernels::ConvBackend::Native;
    const auto p = ops::conv2d_params(x.shape(), w.shape(), opt);
    Workload wl;
    wl.ours = [=] { return ops::conv2d(x, w, Tensor(), opt); };
    wl.oracle = [=] { return ops::conv2d(oracle_input(x), oracle_input(w), Tensor(), opt); };
    if (d.is_cuda() && cudnn_compiled()) {
        auto copt = opt;
        copt.backend = kernels::ConvBackend::Cudnn;
        wl.baseline = [=] { (void)ops::conv2d(x, w, Tensor(), copt); };
        wl.baseline_name = "cudnn";
    }
    wl.flops = 2.0 * double(p.n * p.k * p.p * p.q) * double(p.c / p.groups * p.r * p.s);
    wl.bytes = double(x.nbytes() + w.nbytes()) + double(p.n * p.k * p.p * p.q) * double(dtype_size(dt));
    if (p.groups == p.c) wl.flops = 0;  // depthwise: memory-bound, report against copy bandwidth
    return wl;
}

const Suites kConvSuites = {
    {"seg",
     {conv_case("unet_3x3_64_8x512x1024", 8, 64, 512, 1024, 64, 3, 1, 1, 1, 1),
      conv_case("resnet_1x1_256to64_8x64x128", 8, 256, 64, 128, 64, 1, 1, 0, 1, 1),
      conv_case("aspp_3x3_r12_512to256_8x64x128", 8, 512, 64, 128, 256, 3, 1, 12, 12, 1),
      conv_case("camvid_3x3_128_8x180x240", 8, 128, 180, 240, 128, 3, 1, 1, 1, 1),
      conv_case("mbv2_dw_3x3_144_8x128x256", 8, 144, 128, 256, 144, 3, 1, 1, 1, 144)}},
    {"tiny",
     {conv_case("3x3_8to16_2x17x23", 2, 8, 17, 23, 16, 3, 1, 1, 1, 1),
      conv_case("dw_3x3_s2_12_2x15x16", 2, 12, 15, 16, 12, 3, 2, 1, 1, 12)}},
};

Case nchw(const char* name, int64_t n, int64_t c, int64_t h, int64_t w) {
    return {name, {{"n", n}, {"c", c}, {"h", h}, {"w", w}}};
}
Shape shape_of(const Case& c) { return {c.at("n"), c.at("c"), c.at("h"), c.at("w")}; }

const Suites kActSuites = {
    {"seg", {nchw("logits_19_8x512x1024", 8, 19, 512, 1024), nchw("act_64_8x360x480", 8, 64, 360, 480)}},
    {"tiny", {nchw("5x7_2x3", 2, 3, 5, 7), nchw("19x13x11", 1, 19, 13, 11)}},
};

// Softmax over channels; the baseline is the composite exp(x - max) / sum, three passes.
Workload make_softmax(const Case& c, DType dt, Device d) {
    const Tensor x = input(shape_of(c), dt, d, 3);
    Workload wl;
    wl.ours = [=] { return ops::softmax(x, 1); };
    wl.oracle = [=] { return ops::softmax(oracle_input(x), 1); };
    wl.baseline = [=] {
        const Tensor e = ops::exp(ops::sub(x, ops::max(x, {1}, true)));
        (void)ops::div(e, ops::sum(e, {1}, true));
    };
    wl.baseline_name = "composite";
    wl.bytes = 2.0 * double(x.nbytes());
    return wl;
}

// Batch norm (training forward, fused ReLU); the baseline is the composite var_mean + affine + relu.
Workload make_batch_norm(const Case& c, DType dt, Device d) {
    const Tensor x = input(shape_of(c), dt, d, 4);
    const int64_t ch = c.at("c");
    const Tensor g = ones({ch}, {DType::F32, d}), b = zeros({ch}, {DType::F32, d});
    Workload wl;
    wl.ours = [=] { return ops::batch_norm(x, g, b, Tensor(), Tensor(), true, 0.1, 1e-5, kernels::Act::Relu).y; };
    wl.oracle = [=] {
        return ops::batch_norm(oracle_input(x), g.to(Device::cpu(), DType::F64), b.to(Device::cpu(), DType::F64), Tensor(),
                               Tensor(), true, 0.1, 1e-5, kernels::Act::Relu)
            .y;
    };
    wl.baseline = [=] {
        auto [var, mean] = ops::var_mean(x, {0, 2, 3}, 0, true);
        (void)ops::relu(ops::mul(ops::sub(x, mean), ops::rsqrt(ops::add(var, 1e-5))));
    };
    wl.baseline_name = "composite";
    wl.bytes = 3.0 * double(x.nbytes());  // two reads (statistics, apply) and one write
    return wl;
}

// 3x3 stride-2 max pooling (ResNet stem, SegNet encoder) with indices.
Workload make_max_pool(const Case& c, DType dt, Device d) {
    const Tensor x = input(shape_of(c), dt, d, 5);
    const auto opt = ops::MaxPool2dOptions::make(3, 2, 1);
    Workload wl;
    wl.ours = [=] { return ops::max_pool2d(x, opt).first; };
    wl.oracle = [=] { return ops::max_pool2d(oracle_input(x), opt).first; };
    const double out = double(x.numel()) / 4.0;
    wl.bytes = double(x.nbytes()) + out * double(dtype_size(dt) + 8);  // values + int64 indices
    return wl;
}

// Bilinear x2 up-sampling (decoders); align_corners = false.
Workload make_bilinear(const Case& c, DType dt, Device d) {
    const Tensor x = input(shape_of(c), dt, d, 6);
    const auto opt = ops::InterpolateOptions::scale(2.0, 2.0);
    Workload wl;
    wl.ours = [=] { return ops::interpolate(x, opt); };
    wl.oracle = [=] { return ops::interpolate(oracle_input(x), opt); };
    wl.bytes = 5.0 * double(x.nbytes());  // read once, write 4x
    return wl;
}

// Elementwise add: the memory-bound floor every fused kernel is compared with.
Workload make_add(const Case& c, DType dt, Device d) {
    const Tensor a = input(shape_of(c), dt, d, 7), b = input(shape_of(c), dt, d, 8);
    Workload wl;
    wl.ours = [=] { return ops::add(a, b); };
    wl.oracle = [=] { return ops::add(oracle_input(a), oracle_input(b)); };
    wl.bytes = 3.0 * double(a.nbytes());
    return wl;
}

// GEMM: ours is the hand-written tiled kernel on CUDA (Eigen on the CPU); cuBLAS is the baseline.
Workload make_matmul(const Case& c, DType dt, Device d) {
    const int64_t m = c.at("m"), n = c.at("n"), k = c.at("k");
    const Tensor a = input({m, k}, dt, d, 9), b = input({k, n}, dt, d, 10);
    Workload wl;
    const auto ours = d.is_cuda() ? ops::MatmulBackend::Tiled : ops::MatmulBackend::Default;
    wl.ours = [=] { return ops::matmul(a, b, ours); };
    wl.oracle = [=] { return ops::matmul(oracle_input(a), oracle_input(b)); };
    if (d.is_cuda()) {
        wl.baseline = [=] { (void)ops::matmul(a, b, ops::MatmulBackend::Cublas); };
        wl.baseline_name = "cublas";
    }
    wl.flops = 2.0 * double(m) * double(n) * double(k);
    wl.bytes = double(a.nbytes() + b.nbytes()) + double(m * n) * double(dtype_size(dt));
    return wl;
}

const Suites kGemmSuites = {
    {"seg",
     {{"conv_like_64x262144x576", {{"m", 64}, {"n", 262144}, {"k", 576}}},
      {"square_4096", {{"m", 4096}, {"n", 4096}, {"k", 4096}}}}},
    {"tiny", {{"33x65x17", {{"m", 33}, {"n", 65}, {"k", 17}}}}},
};

// Integer labels in [0, C) with ~5% ignore_index pixels, on the device.
Tensor labels_for(const Case& c, Device d, uint64_t seed) {
    Generator g(seed);
    Tensor lab = randint(0, c.at("c"), {c.at("n"), c.at("h"), c.at("w")}, {DType::I64}, &g);
    const Tensor drop = ops::lt(rand(lab.shape(), {DType::F32}, &g), 0.05);
    int64_t* l = lab.data<int64_t>();
    const bool* m = drop.data<bool>();
    for (int64_t i = 0; i < lab.numel(); ++i)
        if (m[i]) l[i] = 255;
    return lab.to(d);
}

// Fused softmax cross-entropy, loss and logit gradient in one pass; baseline the composite
// log_softmax + one-hot gather (three passes and two full-size temporaries).
Workload make_cross_entropy(const Case& c, DType dt, Device d) {
    const Tensor x = input(shape_of(c), dt, d, 12);
    const Tensor lab = labels_for(c, d, 13);
    Workload wl;
    wl.ours = [=] { return ops::cross_entropy_fused(x, lab, {}, /*want_grad=*/true).loss; };
    wl.oracle = [=] { return ops::cross_entropy(oracle_input(x), lab.cpu()); };
    const Tensor classes = arange(c.at("c"), {DType::I64, d}).view({1, c.at("c"), 1, 1});
    wl.baseline = [=] {
        const Tensor onehot = ops::eq(lab.unsqueeze(1), classes).to(x.dtype());
        (void)ops::sum(ops::mul(ops::log_softmax(x, 1), onehot));
    };
    wl.baseline_name = "composite";
    wl.bytes = 2.0 * double(x.nbytes()) + double(lab.nbytes());  // read logits, write the gradient
    return wl;
}

// Soft Dice over classes (loss only); baseline the softmax / product / sums composite.
Workload make_dice(const Case& c, DType dt, Device d) {
    const Tensor x = input(shape_of(c), dt, d, 14);
    const Tensor lab = labels_for(c, d, 15);
    Workload wl;
    wl.ours = [=] { return ops::dice_loss(x, lab).loss; };
    wl.oracle = [=] { return ops::dice_loss(oracle_input(x), lab.cpu()).loss; };
    const Tensor classes = arange(c.at("c"), {DType::I64, d}).view({1, c.at("c"), 1, 1});
    wl.baseline = [=] {
        const Tensor p = ops::softmax(x, 1), g = ops::eq(lab.unsqueeze(1), classes).to(x.dtype());
        (void)ops::div(ops::sum(ops::mul(p, g), {0, 2, 3}), ops::add(ops::sum(p, {0, 2, 3}), ops::sum(g, {0, 2, 3})));
    };
    wl.baseline_name = "composite";
    wl.bytes = double(x.nbytes()) + double(lab.nbytes());
    return wl;
}

// Fused argmax + confusion-matrix update; baseline argmax, then the update from labels.
Workload make_confusion(const Case& c, DType dt, Device d) {
    const Tensor x = input(shape_of(c), dt, d, 16);
    const Tensor lab = labels_for(c, d, 17);
    const int64_t classes = c.at("c");
    Workload wl;
    wl.ours = [=] { return ops::confusion_matrix(x, lab, classes); };
    wl.oracle = [=] { return ops::confusion_matrix(oracle_input(x), lab.cpu(), classes); };
    wl.baseline = [=] { (void)ops::confusion_matrix(ops::argmax(x, 1), lab, classes); };
    wl.baseline_name = "argmax+count";
    wl.bytes = double(x.nbytes()) + double(lab.nbytes());
    return wl;
}

}  // namespace

SEGCORE_LAB_OP("conv2d", "dense, atrous and depthwise convolution forward; baseline cuDNN", kConvSuites, make_conv);
SEGCORE_LAB_OP("softmax", "softmax over channels; baseline the exp/sum/div composite", kActSuites, make_softmax);
SEGCORE_LAB_OP("batch_norm", "BN training forward + fused ReLU; baseline the composite", kActSuites, make_batch_norm);
SEGCORE_LAB_OP("max_pool2d", "3x3 stride-2 max pooling with indices", kActSuites, make_max_pool);
SEGCORE_LAB_OP("bilinear", "bilinear x2 up-sampling, align_corners = false", kActSuites, make_bilinear);
SEGCORE_LAB_OP("add", "elementwise add: the memory-bound floor", kActSuites, make_add);
SEGCORE_LAB_OP("matmul", "GEMM: the tiled CUDA kernel against cuBLAS", kGemmSuites, make_matmul);
SEGCORE_LAB_OP("cross_entropy", "fused softmax cross-entropy, loss + gradient; baseline the composite", kActSuites,
               make_cross_entropy);
SEGCORE_LAB_OP("dice", "soft Dice loss; baseline the composite", kActSuites, make_dice);
SEGCORE_LAB_OP("confusion", "fused argmax + confusion matrix; baseline argmax then count", kActSuites, make_confusion);

}  // namespace segcore::lab
