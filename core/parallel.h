#pragma once
// parallel_for for CPU kernels: a fixed pool of worker threads and static partitioning, so the
// same range always splits the same way (kernels that need bitwise-deterministic results must
// not depend on the split anyway: see kernels/reduce for fixed-size chunking).
//
// Thread count: SEGCORE_NUM_THREADS in the environment, else std::thread::hardware_concurrency().
// Nested calls (from inside a worker) run serially on the calling thread.
#include <cstdint>
#include <functional>

namespace segcore {

int num_threads();
void set_num_threads(int n);  // 1 = run everything on the calling thread

// Calls fn(begin, end) on disjoint chunks covering [begin, end). Chunks hold at least `grain`
// elements, so small ranges run serially without waking the pool.
void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

inline constexpr int64_t kDefaultGrain = 32768;

}  // namespace segcore
