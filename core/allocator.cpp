#include "core/allocator.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>

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
std::mutex g_cpu_mu;
AllocatorStats g_cpu_stats;
}  // namespace

void* cpu_allocate(size_t nbytes) {
    const size_t size = std::max<size_t>(kCpuAlignment, (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment);
    void* p = std::aligned_alloc(kCpuAlignment, size);
    std::lock_guard<std::mutex> lock(g_cpu_mu);
    if (!p) {
        g_cpu_stats.num_ooms++;
        detail::throw_oom(__FILE__, __LINE__,
                          detail::concat("cpu: out of memory allocating ", bytes_str(int64_t(nbytes)), " (", nbytes,
                                         " bytes); ", stats_str(g_cpu_stats)));
    }
    g_cpu_stats.num_allocs++;
    g_cpu_stats.num_raw_allocs++;
    g_cpu_stats.allocated += int64_t(size);
    g_cpu_stats.reserved = g_cpu_stats.allocated;
    g_cpu_stats.peak_allocated = std::max(g_cpu_stats.peak_allocated, g_cpu_stats.allocated);
    g_cpu_stats.peak_reserved = g_cpu_stats.peak_allocated;
    return p;
}

void cpu_deallocate(void* p, size_t nbytes) noexcept {
    if (!p) return;
    std::free(p);
    const size_t size = std::max<size_t>(kCpuAlignment, (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment);
    std::lock_guard<std::mutex> lock(g_cpu_mu);
    g_cpu_stats.allocated -= int64_t(size);
    g_cpu_stats.reserved = g_cpu_stats.allocated;
}

AllocatorStats cpu_allocator_stats() {
    std::lock_guard<std::mutex> lock(g_cpu_mu);
    return g_cpu_stats;
}

}  // namespace segcore
