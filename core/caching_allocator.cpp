#include "core/caching_allocator.h"

#include <algorithm>

#include "core/error.h"

namespace segcore {

size_t CachingAllocator::round_size(size_t nbytes) {
    if (nbytes == 0) nbytes = 1;
    const size_t r = nbytes < kLargeThreshold ? kSmallRound : kLargeRound;
    return (nbytes + r - 1) / r * r;
}

CachingAllocator::~CachingAllocator() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached_locked();
    // Live blocks at exit belong to tensors that outlive the allocator (static tensors); the
    // driver reclaims them at process exit, so they are deliberately not freed here.
}

void* CachingAllocator::allocate(size_t nbytes, uintptr_t stream) {
    const size_t size = round_size(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.num_allocs++;
    void* p = nullptr;
    auto it = cached_.lower_bound({stream, size});
    if (it != cached_.end() && it->first.first == stream && it->first.second <= 2 * size) {
        p = it->second;
        live_[p] = Block{it->first.second, stream};
        cached_.erase(it);
        stats_.num_cache_hits++;
    } else {
        p = backend_->raw_alloc(size);
        if (!p && !cached_.empty()) {
            // Cached blocks of other sizes or streams may be what stands between us and success.
            release_cached_locked();
            stats_.num_cache_flushes++;
            p = backend_->raw_alloc(size);
        }
        if (!p) {
            stats_.num_ooms++;
            detail::throw_oom(__FILE__, __LINE__,
                              detail::concat(backend_->name(), ": out of memory allocating ", bytes_str(int64_t(nbytes)),
                                             " (", nbytes, " bytes) after releasing the cache; ", stats_str(stats_),
                                             ". Reduce the batch or crop size, or use mixed precision."));
        }
        stats_.num_raw_allocs++;
        stats_.reserved += int64_t(size);
        stats_.peak_reserved = std::max(stats_.peak_reserved, stats_.reserved);
        live_[p] = Block{size, stream};
    }
    stats_.allocated += int64_t(live_[p].size);
    stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
    return p;
}

void CachingAllocator::deallocate(void* p) noexcept {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) {
        detail::log_error(__FILE__, __LINE__, "CachingAllocator: free of a pointer it did not allocate");
        return;
    }
    stats_.allocated -= int64_t(it->second.size);
    cached_.emplace(std::make_pair(it->second.stream, it->second.size), p);
    live_.erase(it);
}

void CachingAllocator::release_cached_locked() noexcept {
    if (cached_.empty()) return;
    try {
        backend_->synchronize();  // queued kernels may still use a cached block
    } catch (const std::exception& e) {
        detail::log_error(__FILE__, __LINE__, e.what());
    }
    for (auto& [key, p] : cached_) {
        backend_->raw_free(p);
        stats_.reserved -= int64_t(key.second);
    }
    cached_.clear();
}

void CachingAllocator::empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached_locked();
}

AllocatorStats CachingAllocator::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
}

void CachingAllocator::reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak_allocated = stats_.allocated;
    stats_.peak_reserved = stats_.reserved;
}

}  // namespace segcore
