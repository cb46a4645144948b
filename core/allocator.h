#pragma once
// Allocators. Both CPU and CUDA memory go through the caching allocator of caching_allocator.h
// (CPU blocks 64-byte aligned: one cache line, full AVX-512 vectors), with statistics.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/device.h"
#include "core/stream.h"

namespace segcore {

struct AllocatorStats {
    int64_t allocated = 0;        // bytes handed out and not yet returned
    int64_t reserved = 0;         // bytes obtained from the system (allocated + cached + pending)
    int64_t peak_allocated = 0;
    int64_t peak_reserved = 0;
    int64_t num_allocs = 0;       // calls to allocate
    int64_t num_raw_allocs = 0;   // calls to the system allocator (cudaMalloc / aligned_alloc)
    int64_t num_cache_hits = 0;
    int64_t num_cache_flushes = 0;  // times the cache was released to satisfy a request
    int64_t num_ooms = 0;
};
std::string stats_str(const AllocatorStats& s);  // "allocated 1.2 GiB, reserved 2.0 GiB, peak ..."
std::string bytes_str(int64_t bytes);            // "1.50 GiB"

inline constexpr size_t kCpuAlignment = 64;

void* cpu_allocate(size_t nbytes);
void cpu_deallocate(void* p, size_t nbytes) noexcept;
AllocatorStats cpu_allocator_stats();
void cpu_empty_cache();  // return cached CPU blocks to the system
void cpu_reset_peak_stats();  // peak_allocated/peak_reserved restart from the current values

// Page-locked ("pinned") host memory (cudaHostAlloc): host-to-device copies from it are DMA
// transfers that run asynchronously on a stream and at full PCIe/NVLink speed. Not cached: the
// data loader keeps its own pool (cudaFreeHost synchronises the device). Without CUDA, or without
// a visible device, it falls back to ordinary 64-byte aligned host memory.
void* pinned_allocate(size_t nbytes);
void pinned_deallocate(void* p) noexcept;

// CUDA caching allocator for the given device (throws in a CPU build).
void* cuda_allocate(size_t nbytes, int device);
void cuda_deallocate(void* p) noexcept;
// Marks the block starting at p as used by work on stream s (see Tensor::record_stream); a no-op
// for pointers the CUDA caching allocator did not hand out and for the block's own stream.
void cuda_record_stream(void* p, Stream s);
AllocatorStats cuda_allocator_stats(int device);
void cuda_empty_cache(int device);  // return cached blocks to the driver
void cuda_reset_peak_stats(int device);

}  // namespace segcore
