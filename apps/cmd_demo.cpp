// `segcore demo`: the foundation at work until the training app lands. A per-pixel classifier —
// the last layer of every segmentation network is exactly this: a small MLP applied to each
// pixel's feature vector, then softmax over classes and argmax — runs on the CPU and on every
// CUDA device, and the CUDA results are checked against the CPU oracle.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "core/device.h"
#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/ops.h"

namespace segcore::apps {

namespace {

struct DemoOptions {
    int64_t batch = 2, height = 360, width = 480, channels = 3, hidden = 32, classes = 11;
    uint64_t seed = 0;
};

struct Weights {
    Tensor w1, b1, w2, b2;
    Weights to(Device d, DType t) const { return {w1.to(d, t), b1.to(d, t), w2.to(d, t), b2.to(d, t)}; }
};

struct Result {
    Tensor probs, labels;  // (N, K, H, W) and (N, H, W)
    double ms = 0;
};

// features (N, C, H, W) -> logits (N, K, H, W): pixels become rows of a GEMM.
Result classify(const Tensor& image, const Weights& w, const DemoOptions& o) {
    const auto t0 = std::chrono::steady_clock::now();
    const Tensor pixels = image.permute({0, 2, 3, 1}).reshape({-1, o.channels});  // (N*H*W, C)
    const Tensor hidden = ops::relu(ops::add(ops::matmul(pixels, w.w1), w.b1));    // (N*H*W, hidden)
    const Tensor logits = ops::add(ops::matmul(hidden, w.w2), w.b2)                // (N*H*W, K)
                              .view({o.batch, o.height, o.width, o.classes})
                              .permute({0, 3, 1, 2});                               // NCHW view
    Result r;
    r.probs = ops::softmax(logits.to(DType::F32), 1);  // class probabilities stay f32 (DESIGN: numerics)
    r.labels = ops::argmax(r.probs, 1);
    if (image.is_cuda()) device_synchronize();
    r.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

void run_demo(const DemoOptions& o) {
    Generator gen(o.seed);
    const Tensor image = rand({o.batch, o.channels, o.height, o.width}, {}, &gen);
    Weights w{randn({o.channels, o.hidden}, {}, &gen), randn({o.hidden}, {}, &gen),
              randn({o.hidden, o.classes}, {}, &gen), randn({o.classes}, {}, &gen)};
    w.w2 = ops::mul(w.w2, 0.25);

    std::printf("segcore demo: per-pixel classifier on a %lld x %lld x %lld x %lld batch, %lld hidden units, %lld classes\n",
                (long long)o.batch, (long long)o.channels, (long long)o.height, (long long)o.width,
                (long long)o.hidden, (long long)o.classes);
    classify(image, w, o);  // warm-up (thread pool, allocator)
    const Result ref = classify(image, w, o);
    const Tensor confidence = ops::mean(ops::max(ref.probs, {1}));
    std::printf("  cpu f32      %8.2f ms   mean confidence %.4f\n", ref.ms, confidence.item<double>());

    // Pixels per predicted class: a histogram is a sum of one-hot comparisons.
    std::printf("  predicted pixels per class:");
    for (int64_t k = 0; k < o.classes; ++k)
        std::printf(" %lld", (long long)ops::sum(ops::eq(ref.labels, double(k)).to(DType::F64)).item<double>());
    std::printf("\n");

    if (cuda_device_count() == 0) {
        std::printf("  cuda         %s\n", cuda_compiled() ? "no CUDA device visible: skipped" : "not in this build");
        return;
    }
    for (DType t : {DType::F32, DType::BF16}) {
        const Device d = Device::cuda(0);
        const Tensor img = image.to(d, t);
        const Weights wd = w.to(d, t);
        classify(img, wd, o);  // warm-up: cuBLAS handle, allocator
        const Result r = classify(img, wd, o);
        const double max_diff = ops::max(ops::abs(ops::sub(r.probs.cpu(), ref.probs))).item<double>();
        const double agree = ops::mean(ops::eq(r.labels.cpu(), ref.labels).to(DType::F32)).item<double>();
        std::printf("  cuda:0 %-5s %8.2f ms   max |p - p_cpu| %.2e   argmax agrees on %.3f%% of pixels\n",
                    dtype_name(t), r.ms, max_diff, 100.0 * agree);
        // f32 must match the oracle; bf16 rounds inputs and weights, so only near-ties may flip.
        SEGCORE_CHECK(t != DType::F32 || max_diff < 1e-4, "demo: CUDA f32 differs from the CPU oracle by ", max_diff);
    }
}

}  // namespace

void add_demo_command(CLI::App& app) {
    static DemoOptions o;
    auto* cmd = app.add_subcommand("demo", "Run a per-pixel classifier on CPU and CUDA and check CUDA against the CPU");
    cmd->add_option("--batch", o.batch, "images per batch")->check(CLI::PositiveNumber);
    cmd->add_option("--height", o.height, "image height")->check(CLI::PositiveNumber);
    cmd->add_option("--width", o.width, "image width")->check(CLI::PositiveNumber);
    cmd->add_option("--hidden", o.hidden, "hidden units")->check(CLI::PositiveNumber);
    cmd->add_option("--classes", o.classes, "classes")->check(CLI::PositiveNumber);
    cmd->add_option("--seed", o.seed, "random seed");
    cmd->callback([] { run_demo(o); });
}

}  // namespace segcore::apps
