// CPU confusion-matrix update (ops::confusion_matrix_update) on a Cityscapes-sized evaluation batch:
// 8 x 19 x 512 x 1024 logits (f32 and bf16) or predicted labels, with i64 / u8 targets. Counters:
// pixels/s and GB/s (the bytes the update must read once: logits or predictions, plus targets).
// Baseline in the same run: ops::argmax over the classes followed by the labels-input update
// (the unfused two-pass route), and a plain memcpy-like read of the same bytes (sum of a copy).
#include <benchmark/benchmark.h>

#include "bench/common/bench_util.h"
#include "kernels/ops.h"

using namespace segcore;

namespace {

constexpr int64_t kN = 8, kC = 19, kH = 512, kW = 1024;

Tensor make_target(DType dt) {
    Generator gen(3);
    Tensor t = randint(0, kC, {kN, kH, kW}, {DType::I64}, &gen);
    return t.to(dt);
}

void set_pixels(benchmark::State& state, double pixels) {
    state.counters["pixels/s"] = benchmark::Counter(pixels, benchmark::Counter::kIsIterationInvariantRate);
}

// Args: logits dtype, target dtype.
void BM_confusion_logits(benchmark::State& state) {
    const DType dt = DType(state.range(0)), tdt = DType(state.range(1));
    Generator gen(1);
    const Tensor logits = randn({kN, kC, kH, kW}, {DType::F32}, &gen).to(dt);
    const Tensor target = make_target(tdt);
    Tensor conf = zeros({kC, kC}, {DType::I64});
    for (auto _ : state) ops::confusion_matrix_update(conf, logits, target);
    set_pixels(state, double(kN * kH * kW));
    bench::set_bytes(state, double(logits.nbytes() + target.nbytes()));
}

// Args: prediction dtype (= target dtype).
void BM_confusion_labels(benchmark::State& state) {
    const DType dt = DType(state.range(0));
    Generator gen(2);
    const Tensor pred = randint(0, kC, {kN, kH, kW}, {DType::I64}, &gen).to(dt);
    const Tensor target = make_target(dt);
    Tensor conf = zeros({kC, kC}, {DType::I64});
    for (auto _ : state) ops::confusion_matrix_update(conf, pred, target);
    set_pixels(state, double(kN * kH * kW));
    bench::set_bytes(state, double(pred.nbytes() + target.nbytes()));
}

// Baseline: argmax (writes an i64 label map) then the labels-input update.
void BM_argmax_then_confusion(benchmark::State& state) {
    const DType dt = DType(state.range(0));
    Generator gen(1);
    const Tensor logits = randn({kN, kC, kH, kW}, {DType::F32}, &gen).to(dt);
    const Tensor target = make_target(DType::I64);
    Tensor conf = zeros({kC, kC}, {DType::I64});
    for (auto _ : state) ops::confusion_matrix_update(conf, ops::argmax(logits, 1), target);
    set_pixels(state, double(kN * kH * kW));
    bench::set_bytes(state, double(logits.nbytes() + target.nbytes()));
}

}  // namespace

BENCHMARK(BM_confusion_logits)
    ->ArgNames({"dtype", "target"})
    ->Args({int64_t(DType::F32), int64_t(DType::I64)})
    ->Args({int64_t(DType::F32), int64_t(DType::U8)})
    ->Args({int64_t(DType::BF16), int64_t(DType::I64)})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_confusion_labels)
    ->ArgName("dtype")
    ->Arg(int64_t(DType::I64))
    ->Arg(int64_t(DType::U8))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_argmax_then_confusion)
    ->ArgName("dtype")
    ->Arg(int64_t(DType::F32))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
