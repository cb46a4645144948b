#include "core/allocator.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>

#include "core/caching_allocator.h"
#include "core/error.h"

namespace segcore {

std::string bytes_str(int64_t b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = double(b);
    int u = 0;
    while (std::abs(v) >= 1024.0 && u < 4) { v /= 1024.0; ++u; }
    char buf[64];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
    return buf;
}

std::string stats_str(const AllocatorStats& s) {
    return "allocated " + bytes_str(s.allocated) + ", reserved " + bytes_str(s.reserved) + ", peak allocated " +
           bytes_str(s.peak_allocated) + ", peak reserved " + bytes_str(s.peak_reserved);
}

namespace {

// CPU memory goes through the same caching allocator as CUDA memory (one "stream"). Why: a fresh
// multi-megabyte allocation is handed back by the kernel page by page, and first-touch page
// faults made an out-of-place add on a 134 MB tensor 5x slower than the kernel itself.
class CpuRawAllocator final : public RawAllocator {
public:
    void* raw_alloc(size_t nbytes) override { return std::aligned_alloc(kCpuAlignment, nbytes); }
    void raw_free(void* p) noexcept override { std::free(p); }
    std::string name() const override { return "cpu"; }
};

CachingAllocator& cpu_cache() {
    // Never destroyed: tensors with static lifetime may be freed during exit.
    static CpuRawAllocator* raw = new CpuRawAllocator();
    static CachingAllocator* cache = new CachingAllocator(raw);
    return *cache;
}

}  // namespace

// Sizes are rounded to multiples of 512 B (2 MiB above 1 MiB), so every block stays 64-byte aligned.
void* cpu_allocate(size_t nbytes) { return cpu_cache().allocate(nbytes, 0); }
void cpu_deallocate(void* p, size_t) noexcept { cpu_cache().deallocate(p); }
AllocatorStats cpu_allocator_stats() { return cpu_cache().stats(); }
void cpu_empty_cache() { cpu_cache().empty_cache(); }
void cpu_reset_peak_stats() { cpu_cache().reset_peak(); }

}  // namespace segcore
