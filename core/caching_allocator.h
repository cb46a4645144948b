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
//  - record_stream (PyTorch's): a block allocated on stream A and also used by kernels on stream B
//    is marked with record_stream(p, B). When it is freed, the backend records an event on each
//    such stream and the block waits in a "pending" list, still reserved, until every event has
//    completed; only then does it join A's cache. Pending blocks are checked at the start of every
//    allocate; releasing the cache (empty_cache, the out-of-memory retry, the destructor)
//    synchronises the device and frees them too. Without record_stream such a block would be
//    handed out on A while B's work is still queued.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/allocator.h"

namespace segcore {

class RawAllocator {
public:
    virtual ~RawAllocator() = default;
    virtual void* raw_alloc(size_t nbytes) = 0;  // nullptr when out of memory
    virtual void raw_free(void* p) noexcept = 0;
    virtual void synchronize() {}  // called before cached blocks are released; completes all events
    // Events for record_stream. A backend without streams needs none: record_event returns 0
    // ("nothing to wait for"), which the allocator never queries or destroys.
    virtual uintptr_t record_event(uintptr_t stream) { return 0; }  // marks the work queued on stream so far
    virtual bool event_done(uintptr_t event) { return true; }       // that work has finished
    virtual void destroy_event(uintptr_t event) noexcept {}
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
    // p must be live (handed out and not yet freed); recording the block's own stream is a no-op.
    void record_stream(void* p, uintptr_t stream);
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
        std::vector<uintptr_t> other_streams;  // from record_stream, without duplicates
    };
    struct Pending {
        void* p;
        size_t size;
        uintptr_t stream;
        std::vector<uintptr_t> events;  // not yet known to be done
    };
    void process_pending_locked();  // moves blocks whose events are all done into the cache
    void release_cached_locked() noexcept;

    RawAllocator* backend_;
    mutable std::mutex mu_;
    std::unordered_map<void*, Block> live_;                        // handed out
    std::multimap<std::pair<uintptr_t, size_t>, void*> cached_;    // (stream, size) -> free block
    std::vector<Pending> pending_;                                 // freed, other streams' work queued
    AllocatorStats stats_;
};

}  // namespace segcore
