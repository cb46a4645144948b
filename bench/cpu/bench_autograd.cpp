// Autograd overhead on the CPU: a chain of 1000 tiny ops (one-element tensors, so the kernels
// cost next to nothing and what is measured is recording, the engine and allocation), forward
// only, forward with recording, and forward + backward. Counter "per_op" is the time per op.
// Baseline in the same run: the same chain on plain tensors (ops::, no autograd).
#include <benchmark/benchmark.h>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "kernels/ops.h"

using namespace segcore;
namespace F = segcore::autograd;

namespace {

constexpr int kChain = 1000;

void set_per_op(benchmark::State& state) {
    state.counters["per_op"] = benchmark::Counter(double(state.iterations()) * kChain,
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_chain_tensor_ops(benchmark::State& state) {  // baseline: no autograd at all
    const Tensor x = ones({1});
    for (auto _ : state) {
        Tensor y = x;
        for (int i = 0; i < kChain; ++i) y = ops::mul(y, 1.0001);
        benchmark::DoNotOptimize(y.data_ptr());
    }
    set_per_op(state);
}

void BM_chain_forward_no_grad(benchmark::State& state) {
    const F::Variable x(ones({1}), true);
    for (auto _ : state) {
        F::NoGradGuard ng;
        F::Variable y = x;
        for (int i = 0; i < kChain; ++i) y = F::mul(y, 1.0001);
        benchmark::DoNotOptimize(y.data().data_ptr());
    }
    set_per_op(state);
}

void BM_chain_forward_recorded(benchmark::State& state) {
    const F::Variable x(ones({1}), true);
    for (auto _ : state) {
        F::Variable y = x;
        for (int i = 0; i < kChain; ++i) y = F::mul(y, 1.0001);
        benchmark::DoNotOptimize(y.data().data_ptr());
    }
    set_per_op(state);
}

void BM_chain_forward_backward(benchmark::State& state) {
    F::Variable x(ones({1}), true);
    for (auto _ : state) {
        F::Variable y = x;
        for (int i = 0; i < kChain; ++i) y = F::mul(y, 1.0001);
        F::sum(y).backward();
        benchmark::DoNotOptimize(x.grad().data_ptr());
    }
    set_per_op(state);
}

// Binary ops save both inputs and reduce broadcast gradients: a heavier node per op.
void BM_chain_binary_forward_backward(benchmark::State& state) {
    F::Variable x(ones({1}), true), w(full({1}, 1.0001), true);
    for (auto _ : state) {
        F::Variable y = x;
        for (int i = 0; i < kChain; ++i) y = F::mul(y, w);
        F::sum(y).backward();
        benchmark::DoNotOptimize(w.grad().data_ptr());
    }
    set_per_op(state);
}

}  // namespace

BENCHMARK(BM_chain_tensor_ops)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_chain_forward_no_grad)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_chain_forward_recorded)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_chain_forward_backward)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_chain_binary_forward_backward)->Unit(benchmark::kMicrosecond)->UseRealTime();
