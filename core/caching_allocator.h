#pragma once
// A size-binned, stream-aware caching allocator, independent of CUDA so its logic is tested on
// the CPU with a fake backend (tests/core/test_caching_allocator.cpp).
//
// Why cache: cudaMalloc/cudaFree synchronise the device and cost tens of microseconds; a training
// step allocates the same sizes every iteration, so reusing freed blocks removes that cost.
//
// Rules:
//  - sizes are rounded up: to 512 B below 1 MiB, to 2 MiB above (the bins);
//  - a freed block goes back to the pool of the stream it was allocated on and is reused only by
//    that stream: work queued on one stream runs in order, so a block freed by the host while its
//    last kernel is still queued can be handed to the next kernel on the same stream safely;
//  - a request takes the smallest cached block of its stream that fits, if that block is at most
//    twice the request (bounds the waste);
//  - when the backend fails, every cached block is released and the request retried once; if it
//    fails again, OutOfMemoryError names the requested size and the statistics.
//
// Not yet here (PyTorch's record_stream): a tensor allocated on stream A, used by kernels on stream
// B and freed while B's work is queued may be handed out on A too early. Until that exists, code
// that moves a tensor to another stream synchronises the streams before freeing it.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/allocator.h"

namespace segcore {

class RawAllocator {
public:
    virtual ~RawAllocator() = default;
    virtual void* raw_alloc(size_t nbytes) = 0;  // nullptr when out of memory
    virtual void raw_free(void* p) noexcept = 0;
    virtual void synchronize() {}  // called before cached blocks are released
    virtual std::string name() const = 0;  // "cuda:0", used in error messages
};

class CachingAllocator {
public:
    explicit CachingAllocator(RawAllocator* backend) : backend_(backend) {}
    ~CachingAllocator();
    CachingAllocator(const CachingAllocator&) = delete;
    CachingAllocator& operator=(const CachingAllocator&) = delete;

    void* allocate(size_t nbytes, uintptr_t stream);
    void deallocate(void* p) noexcept;
    void empty_cache();
    AllocatorStats stats() const;
    void reset_peak();

    static size_t round_size(size_t nbytes);
    static constexpr size_t kSmallRound = 512;
    static constexpr size_t kLargeThreshold = size_t(1) << 20;
    static constexpr size_t kLargeRound = size_t(2) << 20;

private:
    struct Block {
        size_t size;
        uintptr_t stream;
    };
    void release_cached_locked() noexcept;

    RawAllocator* backend_;
    mutable std::mutex mu_;
    std::unordered_map<void*, Block> live_;                        // handed out
    std::multimap<std::pair<uintptr_t, size_t>, void*> cached_;    // (stream, size) -> free block
    AllocatorStats stats_;
};

}  // namespace segcore
