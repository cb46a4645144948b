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
    if (!pending_.empty()) process_pending_locked();
    void* p = nullptr;
    auto it = cached_.lower_bound({stream, size});
    if (it != cached_.end() && it->first.first == stream && it->first.second <= 2 * size) {
        p = it->second;
        live_[p] = Block{it->first.second, stream, {}};
        cached_.erase(it);
        stats_.num_cache_hits++;
    } else {
        p = backend_->raw_alloc(size);
        if (!p && (!cached_.empty() || !pending_.empty())) {
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
        live_[p] = Block{size, stream, {}};
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
    Block& b = it->second;
    stats_.allocated -= int64_t(b.size);
    if (!b.other_streams.empty()) {
        // Other streams may still have work queued on this block: mark the end of that work with
        // an event per stream and keep the block out of the cache until all of them are done.
        Pending pend{p, b.size, b.stream, {}};
        try {
            for (uintptr_t s : b.other_streams) {
                const uintptr_t ev = backend_->record_event(s);
                if (ev) pend.events.push_back(ev);
            }
        } catch (const std::exception& e) {
            // Cannot throw from here: fall back to waiting for the whole device now.
            detail::log_error(__FILE__, __LINE__, e.what());
            for (uintptr_t ev : pend.events) backend_->destroy_event(ev);
            pend.events.clear();
            try {
                backend_->synchronize();
            } catch (const std::exception& e2) {
                // The device is unusable; leak the block (it stays reserved) rather than reuse it early.
                detail::log_error(__FILE__, __LINE__, e2.what());
                live_.erase(it);
                return;
            }
        }
        if (!pend.events.empty()) {
            pending_.push_back(std::move(pend));
            live_.erase(it);
            return;
        }
    }
    cached_.emplace(std::make_pair(b.stream, b.size), p);
    live_.erase(it);
}

void CachingAllocator::record_stream(void* p, uintptr_t stream) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    SEGCORE_CHECK(it != live_.end(), backend_->name(),
                  ": record_stream of a pointer that is not a live block of this allocator");
    Block& b = it->second;
    if (stream == b.stream) return;  // its own stream orders the work already
    if (std::find(b.other_streams.begin(), b.other_streams.end(), stream) == b.other_streams.end())
        b.other_streams.push_back(stream);
}

void CachingAllocator::process_pending_locked() {
    for (size_t i = 0; i < pending_.size();) {
        Pending& pend = pending_[i];
        auto& evs = pend.events;
        for (size_t j = 0; j < evs.size();) {
            if (backend_->event_done(evs[j])) {
                backend_->destroy_event(evs[j]);
                evs[j] = evs.back();
                evs.pop_back();
            } else {
                ++j;
            }
        }
        if (evs.empty()) {
            cached_.emplace(std::make_pair(pend.stream, pend.size), pend.p);
            pending_[i] = std::move(pending_.back());
            pending_.pop_back();
        } else {
            ++i;
        }
    }
}

void CachingAllocator::release_cached_locked() noexcept {
    if (cached_.empty() && pending_.empty()) return;
    try {
        // Queued kernels may still use a cached block; after this every pending block's events
        // have completed too, so pending blocks are released with the cache.
        backend_->synchronize();
    } catch (const std::exception& e) {
        detail::log_error(__FILE__, __LINE__, e.what());
    }
    for (Pending& pend : pending_) {
        for (uintptr_t ev : pend.events) backend_->destroy_event(ev);
        backend_->raw_free(pend.p);
        stats_.reserved -= int64_t(pend.size);
    }
    pending_.clear();
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
