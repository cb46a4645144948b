// CPU optimiser step throughput on a ResNet-50 parameter list (161 tensors, 25.6M parameters):
// the fused multi-tensor AdamW (one ops::adam_step_ call for the whole list) against a per-tensor
// loop (one call per tensor: what an optimiser without multi-tensor kernels does), and a memcpy of
// the same traffic as the bandwidth reference, all in the same run.
//
// Bytes: AdamW reads p, g, m, v and writes p, m, v: 28 bytes per f32 parameter. "params/s" counts
// parameters updated per second. The memcpy baseline copies 14 bytes per parameter (read + write =
// 28 bytes), so its GB/s is the ceiling for the same traffic.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/common/bench_util.h"
#include "bench/common/param_lists.h"
#include "kernels/optim/fused_optim.h"

using namespace segcore;

namespace {

struct AdamState {
    std::vector<Tensor> p, g, m, v;
    int64_t numel = 0;
    explicit AdamState(Device d) {
        Generator gen(7);
        for (const Shape& s : bench::resnet50_param_shapes()) {
            p.push_back(randn(s, {DType::F32, d}, &gen));
            g.push_back(randn(s, {DType::F32, d}, &gen));
            m.push_back(zeros(s, {DType::F32, d}));
            v.push_back(zeros(s, {DType::F32, d}));
            numel += p.back().numel();
        }
    }
};

kernels::AdamParams adamw() {
    kernels::AdamParams hp;
    hp.lr = 1e-3;
    hp.weight_decay = 1e-2;
    hp.decoupled_weight_decay = true;
    return hp;
}

void set_counters(benchmark::State& state, int64_t numel) {
    bench::set_bytes(state, 28.0 * double(numel));
    state.counters["params/s"] = benchmark::Counter(double(numel), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["tensors"] = double(bench::resnet50_param_shapes().size());
}

void BM_adamw_fused_resnet50(benchmark::State& state) {
    AdamState s(Device::cpu());
    ops::OptimStepArgs a;
    a.params = s.p;
    a.grads = s.g;
    a.steps.assign(s.p.size(), 1);
    for (auto _ : state) {
        for (int64_t& t : a.steps) ++t;
        ops::adam_step_(a, s.m, s.v, {}, adamw());
    }
    set_counters(state, s.numel);
}
BENCHMARK(BM_adamw_fused_resnet50)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_adamw_per_tensor_resnet50(benchmark::State& state) {
    AdamState s(Device::cpu());
    int64_t step = 1;
    for (auto _ : state) {
        ++step;
        for (size_t i = 0; i < s.p.size(); ++i) {
            ops::OptimStepArgs a;
            a.params = {s.p[i]};
            a.grads = {s.g[i]};
            a.steps = {step};
            ops::adam_step_(a, {s.m[i]}, {s.v[i]}, {}, adamw());
        }
    }
    set_counters(state, s.numel);
}
BENCHMARK(BM_adamw_per_tensor_resnet50)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_memcpy_same_traffic(benchmark::State& state) {
    int64_t numel = 0;
    for (const Shape& sh : bench::resnet50_param_shapes()) numel += shape_numel(sh);
    const Tensor src = randn({numel * 14 / 4});  // 14 bytes per parameter, read + written
    Tensor dst = zeros_like(src);                // touched: no first-iteration page faults
    for (auto _ : state) {
        dst.copy_(src);
        benchmark::DoNotOptimize(dst.data_ptr());
    }
    bench::set_bytes(state, 2.0 * double(src.nbytes()));
    state.counters["params/s"] = benchmark::Counter(double(numel), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_memcpy_same_traffic)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
