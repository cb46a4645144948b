// CUDA confusion-matrix update (ops::confusion_matrix_update, fused argmax + privatised histogram)
// against the unfused baseline measured in the same run: ops::argmax over the classes (writes an
// i64 label map) followed by the textbook kernel (kernels::confusion_naive_from_labels_cuda: one
// global 64-bit atomicAdd per pixel). Counters: pixels/s and GB/s of the bytes the fused update
// must read once (logits + targets); the H200's copy bandwidth (~4 TB/s, bench_copy_cuda) is the
// floor. check_labels is off (no synchronisation per call, as in MetricAccumulator).
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "kernels/ops.h"

using namespace segcore;

namespace {

struct Case {
    const char* name;
    int64_t n, c, h, w;
};
const Case kCases[] = {
    {"cityscapes_8x19x512x1024", 8, 19, 512, 1024},
    {"ade20k_8x150x512x512", 8, 150, 512, 512},
    {"256cls_8x256x256x512", 8, 256, 256, 512},
};

void set_pixels(benchmark::State& state, double pixels) {
    state.counters["pixels/s"] = benchmark::Counter(pixels, benchmark::Counter::kIsIterationInvariantRate);
}

// Spatially coherent targets (runs of a class along rows), like real label maps; the logits are
// random, so the predictions are not: both extremes of bin locality appear.
Tensor make_target(const Case& k) {
    Generator gen(3);
    Tensor t = randint(0, k.c, {k.n, k.h, k.w / 32}, {DType::I64}, &gen);
    return t.unsqueeze(3).expand({k.n, k.h, k.w / 32, 32}).reshape({k.n, k.h, k.w}).cuda();
}

// Args: case, dtype, variant (0 fused, 1 argmax + naive histogram, 2 labels input only,
// 3 naive histogram of labels only).
void BM_confusion(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    const Case& k = kCases[state.range(0)];
    const DType dt = DType(state.range(1));
    const int variant = int(state.range(2));
    state.SetLabel(k.name);
    Generator gen(1);
    const Tensor logits = randn({k.n, k.c, k.h, k.w}, {dt, Device::cuda()}, &gen);
    const Tensor target = make_target(k);
    const Tensor pred = ops::argmax(logits, 1);
    Tensor conf = zeros({k.c, k.c}, {DType::I64, Device::cuda()});
    ops::ConfusionOptions opt;
    opt.check_labels = false;
    kernels::ConfusionParams p;
    p.n = k.n;
    p.c = k.c;
    p.hw = k.h * k.w;
    p.ignore_index = 255;
    bench::run_cuda(state, [&] {
        if (variant == 0) {
            ops::confusion_matrix_update(conf, logits, target, opt);
        } else if (variant == 1) {
            const Tensor am = ops::argmax(logits, 1);
            kernels::confusion_naive_from_labels_cuda(p, am.data<int64_t>(), target.data<int64_t>(),
                                                      conf.data<int64_t>(), current_stream());
        } else if (variant == 2) {
            ops::confusion_matrix_update(conf, pred, target, opt);
        } else {
            kernels::confusion_naive_from_labels_cuda(p, pred.data<int64_t>(), target.data<int64_t>(),
                                                      conf.data<int64_t>(), current_stream());
        }
    });
    set_pixels(state, double(k.n * k.h * k.w));
    const double in = variant >= 2 ? double(pred.nbytes()) : double(logits.nbytes());
    bench::set_bytes(state, in + double(target.nbytes()));
}

void args(benchmark::internal::Benchmark* bm) {
    bm->ArgNames({"case", "dtype", "variant"});
    for (int64_t i = 0; i < int64_t(std::size(kCases)); ++i) {
        for (const DType dt : {DType::F32, DType::BF16})
            for (int64_t v : {0, 1}) bm->Args({i, int64_t(dt), v});
        for (int64_t v : {2, 3}) bm->Args({i, int64_t(DType::F32), v});
    }
}

}  // namespace

// variant: 0 fused (segcore), 1 baseline argmax + naive atomics, 2 fused from labels, 3 naive from labels.
BENCHMARK(BM_confusion)->Apply(args)->UseManualTime()->Unit(benchmark::kMicrosecond);
