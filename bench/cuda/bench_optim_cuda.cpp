// CUDA optimiser step on a ResNet-50 parameter list (161 tensors, 25.6M f32 parameters): the fused
// multi-tensor AdamW (one launch for the whole list) against a per-tensor loop (161 launches, what
// an optimiser without multi-tensor kernels does) and a device-to-device copy of the same traffic,
// all in one run. Timed with CUDA events, L2 flushed before each repeat.
//
// Bytes: AdamW reads p, g, m, v and writes p, m, v: 28 bytes per parameter (716 MB per step).
// "pct_of_copy" = the step's bandwidth / the bandwidth of a cudaMemcpy moving the same bytes (14 bytes
// per parameter copied = 28 read + written), both measured here with events over 20 repeats.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench/common/bench_util.h"
#include "bench/common/param_lists.h"
#include "core/copy.h"
#include "core/stream.h"
#include "kernels/optim/fused_optim.h"
#include "kernels/optim/grad_ops.h"

using namespace segcore;

namespace {

struct AdamState {
    std::vector<Tensor> p, g, m, v;
    int64_t numel = 0;
    AdamState() {
        Generator gen(7);
        for (const Shape& s : bench::resnet50_param_shapes()) {
            p.push_back(randn(s, {DType::F32, Device::cuda()}, &gen));
            g.push_back(randn(s, {DType::F32, Device::cuda()}, &gen));
            m.push_back(zeros(s, {DType::F32, Device::cuda()}));
            v.push_back(zeros(s, {DType::F32, Device::cuda()}));
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

// Mean time of fn over `reps` back-to-back runs (after a warm-up), in seconds.
double time_reps(const std::function<void()>& fn, int reps = 20) {
    const Stream s = current_stream();
    fn();
    stream_synchronize(s);
    Event a, b;
    a.record(s);
    for (int i = 0; i < reps; ++i) fn();
    b.record(s);
    b.synchronize();
    return double(a.elapsed_ms(b)) * 1e-3 / reps;
}

double copy_seconds(int64_t numel) {
    const int64_t bytes = numel * 14;
    const Tensor src = zeros({bytes}, {DType::U8, Device::cuda()});
    Tensor dst = zeros({bytes}, {DType::U8, Device::cuda()});
    return time_reps([&] { memcpy_device(dst.data_ptr(), src.data_ptr(), bytes, current_stream()); });
}

void set_counters(benchmark::State& state, int64_t numel, double step_seconds) {
    bench::set_bytes(state, 28.0 * double(numel));
    state.counters["params/s"] = benchmark::Counter(double(numel), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["pct_of_copy"] = 100.0 * copy_seconds(numel) / step_seconds;
}

void BM_cuda_adamw_fused_resnet50(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    AdamState s;
    ops::OptimStepArgs a;
    a.params = s.p;
    a.grads = s.g;
    a.steps.assign(s.p.size(), 1);
    auto step = [&] {
        for (int64_t& t : a.steps) ++t;
        ops::adam_step_(a, s.m, s.v, {}, adamw());
    };
    bench::run_cuda(state, step);
    set_counters(state, s.numel, time_reps(step));
}
BENCHMARK(BM_cuda_adamw_fused_resnet50)->UseManualTime()->Unit(benchmark::kMicrosecond);

// With the GradScaler inputs (inv_scale, found_inf = 0 read on the device): the AMP path.
void BM_cuda_adamw_fused_scaled_resnet50(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    AdamState s;
    ops::OptimStepArgs a;
    a.params = s.p;
    a.grads = s.g;
    a.steps.assign(s.p.size(), 1);
    for (size_t i = 0; i < s.p.size(); ++i) a.skipped.push_back(zeros({}, {DType::F32, Device::cuda()}));
    a.inv_scale = full({}, 1.0 / 65536, {DType::F32, Device::cuda()});
    a.found_inf = zeros({}, {DType::F32, Device::cuda()});
    auto step = [&] {
        for (int64_t& t : a.steps) ++t;
        ops::adam_step_(a, s.m, s.v, {}, adamw());
    };
    bench::run_cuda(state, step);
    set_counters(state, s.numel, time_reps(step));
}
BENCHMARK(BM_cuda_adamw_fused_scaled_resnet50)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_adamw_per_tensor_resnet50(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    AdamState s;
    int64_t t = 1;
    auto step = [&] {
        ++t;
        for (size_t i = 0; i < s.p.size(); ++i) {
            ops::OptimStepArgs a;
            a.params = {s.p[i]};
            a.grads = {s.g[i]};
            a.steps = {t};
            ops::adam_step_(a, {s.m[i]}, {s.v[i]}, {}, adamw());
        }
    };
    bench::run_cuda(state, step);
    set_counters(state, s.numel, time_reps(step));
}
BENCHMARK(BM_cuda_adamw_per_tensor_resnet50)->UseManualTime()->Unit(benchmark::kMicrosecond);

void BM_cuda_memcpy_same_traffic(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    int64_t numel = 0;
    for (const Shape& sh : bench::resnet50_param_shapes()) numel += shape_numel(sh);
    const int64_t bytes = numel * 14;
    const Tensor src = zeros({bytes}, {DType::U8, Device::cuda()});
    Tensor dst = zeros({bytes}, {DType::U8, Device::cuda()});
    bench::run_cuda(state, [&] { memcpy_device(dst.data_ptr(), src.data_ptr(), bytes, current_stream()); });
    bench::set_bytes(state, 2.0 * double(bytes));
    state.counters["params/s"] = benchmark::Counter(double(numel), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_cuda_memcpy_same_traffic)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Global grad norm + clip (3 launches) on the same list: reads g twice, writes it once (12 B/param).
void BM_cuda_clip_grad_norm_resnet50(benchmark::State& state) {
    if (!bench::require_cuda_device(state)) return;
    AdamState s;
    bench::run_cuda(state, [&] { ops::clip_grad_norm_(s.g, 1e30); });
    bench::set_bytes(state, 12.0 * double(s.numel));
}
BENCHMARK(BM_cuda_clip_grad_norm_resnet50)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
