#pragma once
// Timing helpers for the Google Benchmark suites.
//
// CPU: the default wall-clock timing of Google Benchmark.
// CUDA: register with ->UseManualTime() and call run_cuda(state, fn): fn is launched on the
// current stream, warmed up, and each repeat is timed with CUDA events; the L2 cache is flushed
// (by writing a buffer twice its size) before each repeat so data comes from HBM, not L2.
//
// Counters: set_bytes / set_flops add "GB/s" / "GFLOP/s" rates (per iteration totals), which
// Google Benchmark divides by the measured time.
#include <benchmark/benchmark.h>

#include <functional>

namespace segcore::bench {

void run_cuda(benchmark::State& state, const std::function<void()>& fn, bool flush_l2 = true);

void set_bytes(benchmark::State& state, double bytes_per_iter);  // counter "GB/s"
void set_flops(benchmark::State& state, double flops_per_iter);  // counter "GFLOP/s"

// Skips the benchmark with a message when no CUDA device is visible; returns false then.
bool require_cuda_device(benchmark::State& state);

}  // namespace segcore::bench
