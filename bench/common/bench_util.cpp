#include "bench/common/bench_util.h"

#include "core/device.h"
#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::bench {

void set_bytes(benchmark::State& state, double bytes) {
    state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void set_flops(benchmark::State& state, double flops) {
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

bool require_cuda_device(benchmark::State& state) {
    if (cuda_compiled() && cuda_device_count() > 0) return true;
    state.SkipWithError(cuda_compiled() ? "no CUDA device is visible" : "this build has no CUDA backend");
    return false;
}

void run_cuda(benchmark::State& state, const std::function<void()>& fn, bool flush_l2) {
    if (!require_cuda_device(state)) {
        for (auto _ : state) {
        }
        return;
    }
    const int device = current_device();
    Tensor flush;
    if (flush_l2) {
        const int64_t l2 = cuda_device_info(device).l2_cache_bytes;
        flush = empty({std::max<int64_t>(2 * l2, 1 << 20)}, {DType::U8, Device::cuda(device)});
    }
    const Stream s = current_stream();
    for (int i = 0; i < 3; ++i) fn();  // warm-up: lazy initialisation, caching allocator, clocks
    stream_synchronize(s);
    Event start, stop;
    for (auto _ : state) {
        if (flush_l2) flush.fill_(double(state.iterations() & 0x7f));
        start.record(s);
        fn();
        stop.record(s);
        stop.synchronize();
        state.SetIterationTime(double(start.elapsed_ms(stop)) * 1e-3);
    }
}

}  // namespace segcore::bench
