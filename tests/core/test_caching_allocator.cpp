// CachingAllocator logic on the CPU with a fake, capacity-limited backend whose events (for
// record_stream) complete only when the test says so or the backend is synchronised.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>

#include "core/caching_allocator.h"
#include "core/error.h"

using namespace segcore;

namespace {

class FakeRaw final : public RawAllocator {
public:
    explicit FakeRaw(size_t capacity) : capacity_(capacity) {}
    ~FakeRaw() override {
        for (auto& [p, n] : live_) std::free(p);
    }
    void* raw_alloc(size_t n) override {
        ++allocs;
        if (used_ + n > capacity_) return nullptr;
        void* p = std::malloc(n);
        live_[p] = n;
        used_ += n;
        return p;
    }
    void raw_free(void* p) noexcept override {
        ++frees;
        auto it = live_.find(p);
        if (it == live_.end()) { bad_frees++; return; }
        used_ -= it->second;
        std::free(p);
        live_.erase(it);
    }
    void synchronize() override {
        ++syncs;
        for (auto& [ev, e] : events_) e.done = true;
    }
    uintptr_t record_event(uintptr_t stream) override {
        if (!with_events) return RawAllocator::record_event(stream);  // the default: no event
        const uintptr_t ev = next_event_++;
        events_[ev] = FakeEvent{stream, false};
        return ev;
    }
    bool event_done(uintptr_t ev) override {
        ++queries;
        auto it = events_.find(ev);
        if (it == events_.end()) { bad_events++; return true; }
        return it->second.done;
    }
    void destroy_event(uintptr_t ev) noexcept override {
        if (events_.erase(ev) == 0) bad_events++;
    }
    std::string name() const override { return "fake:0"; }
    size_t used() const { return used_; }

    // Completes the work queued so far on `stream` (what a finished kernel would do).
    void finish_stream(uintptr_t stream) {
        for (auto& [ev, e] : events_)
            if (e.stream == stream) e.done = true;
    }
    size_t live_events() const { return events_.size(); }
    size_t events_on(uintptr_t stream) const {
        size_t n = 0;
        for (auto& [ev, e] : events_) n += e.stream == stream;
        return n;
    }

    bool with_events = true;
    int allocs = 0, frees = 0, syncs = 0, bad_frees = 0, queries = 0, bad_events = 0;

private:
    struct FakeEvent {
        uintptr_t stream;
        bool done;
    };
    size_t capacity_, used_ = 0;
    std::map<void*, size_t> live_;
    std::map<uintptr_t, FakeEvent> events_;
    uintptr_t next_event_ = 1;
};

constexpr uintptr_t kS1 = 0x1000, kS2 = 0x2000, kS3 = 0x3000;
constexpr size_t kMiB = size_t(1) << 20;

}  // namespace

TEST_CASE("caching allocator: size bins", "[core][allocator]") {
    CHECK(CachingAllocator::round_size(0) == 512);
    CHECK(CachingAllocator::round_size(1) == 512);
    CHECK(CachingAllocator::round_size(512) == 512);
    CHECK(CachingAllocator::round_size(513) == 1024);
    CHECK(CachingAllocator::round_size(kMiB - 1) == kMiB);
    CHECK(CachingAllocator::round_size(kMiB) == 2 * kMiB);
    CHECK(CachingAllocator::round_size(2 * kMiB + 1) == 4 * kMiB);
    CHECK(CachingAllocator::round_size(100 * kMiB) == 100 * kMiB);
}

TEST_CASE("caching allocator: reuse on the same stream only", "[core][allocator]") {
    FakeRaw raw(64 * kMiB);
    CachingAllocator a(&raw);
    void* p = a.allocate(1000, kS1);
    a.deallocate(p);
    CHECK(a.stats().allocated == 0);
    CHECK(a.stats().reserved == 1024);
    void* q = a.allocate(900, kS1);  // same bin, same stream: the cached block
    CHECK(q == p);
    CHECK(raw.allocs == 1);
    CHECK(a.stats().num_cache_hits == 1);
    a.deallocate(q);
    void* r = a.allocate(1000, kS2);  // other stream: must not take it
    CHECK(r != p);
    CHECK(raw.allocs == 2);
    CHECK(a.stats().num_cache_hits == 1);
    a.deallocate(r);
    // The smallest fitting block is chosen.
    void* big = a.allocate(8192, kS1);
    a.deallocate(big);
    void* small = a.allocate(1024, kS1);
    CHECK(small == p);
    a.deallocate(small);
    a.empty_cache();
    CHECK(raw.used() == 0);
    CHECK(raw.bad_frees == 0);
}

TEST_CASE("caching allocator: a cached block at most twice the request is reused", "[core][allocator]") {
    FakeRaw raw(64 * kMiB);
    CachingAllocator a(&raw);
    void* p = a.allocate(4096, kS1);
    a.deallocate(p);
    void* q = a.allocate(1024, kS1);  // 4096 > 2 * 1024: a new block
    CHECK(q != p);
    void* r = a.allocate(2048, kS1);  // 4096 <= 2 * 2048: reused
    CHECK(r == p);
    CHECK(a.stats().allocated == 1024 + 4096);  // the whole block counts as allocated
    a.deallocate(q);
    a.deallocate(r);
    // Large blocks: a 4 MiB block serves a 1.5 MiB request (rounds to 2 MiB) but not 900 KiB.
    void* l = a.allocate(4 * kMiB, kS1);
    a.deallocate(l);
    CHECK(a.allocate(900 * 1024, kS1) != l);
    CHECK(a.allocate(kMiB + kMiB / 2, kS1) == l);
}

TEST_CASE("caching allocator: statistics", "[core][allocator]") {
    FakeRaw raw(64 * kMiB);
    CachingAllocator a(&raw);
    void* x = a.allocate(100, kS1);    // 512
    void* y = a.allocate(3 * kMiB, kS1);  // 4 MiB
    AllocatorStats s = a.stats();
    CHECK(s.allocated == int64_t(512 + 4 * kMiB));
    CHECK(s.reserved == s.allocated);
    CHECK(s.num_allocs == 2);
    CHECK(s.num_raw_allocs == 2);
    a.deallocate(y);
    s = a.stats();
    CHECK(s.allocated == 512);
    CHECK(s.reserved == int64_t(512 + 4 * kMiB));
    CHECK(s.peak_allocated == int64_t(512 + 4 * kMiB));
    a.reset_peak();
    CHECK(a.stats().peak_allocated == 512);
    CHECK(a.stats().peak_reserved == int64_t(512 + 4 * kMiB));
    void* z = a.allocate(3 * kMiB, kS1);  // hit
    CHECK(z == y);
    s = a.stats();
    CHECK(s.num_cache_hits == 1);
    CHECK(s.num_raw_allocs == 2);
    CHECK(s.num_allocs == 3);
    a.deallocate(z);
    a.deallocate(x);
    a.empty_cache();
    s = a.stats();
    CHECK(s.allocated == 0);
    CHECK(s.reserved == 0);
    CHECK(raw.used() == 0);
    CHECK(raw.syncs >= 1);  // the device is synchronised before cached blocks are freed
    a.deallocate(nullptr);  // no-op
    int local = 0;
    a.deallocate(&local);   // not ours: logged, ignored
    CHECK(a.stats().allocated == 0);
}

TEST_CASE("caching allocator: out of memory releases the cache and retries", "[core][allocator]") {
    FakeRaw raw(8 * kMiB);
    CachingAllocator a(&raw);
    void* p = a.allocate(4 * kMiB, kS2);  // cached on another stream after the free
    a.deallocate(p);
    void* q = a.allocate(6 * kMiB, kS1);  // 4 + 6 > 8: fails, flushes, succeeds
    REQUIRE(q != nullptr);
    AllocatorStats s = a.stats();
    CHECK(s.num_cache_flushes == 1);
    CHECK(s.num_ooms == 0);
    CHECK(s.reserved == int64_t(6 * kMiB));
    CHECK(raw.used() == 6 * kMiB);

    // Not enough even after the flush: OutOfMemoryError naming the size and the statistics.
    try {
        (void)a.allocate(3 * kMiB, kS1);
        FAIL("expected OutOfMemoryError");
    } catch (const OutOfMemoryError& e) {
        const std::string m = e.what();
        CHECK_THAT(m, Catch::Contains("fake:0"));
        CHECK_THAT(m, Catch::Contains("3.00 MiB (3145728 bytes)"));
        CHECK_THAT(m, Catch::Contains("allocated 6.00 MiB"));
        CHECK_THAT(m, Catch::Contains("reserved 6.00 MiB"));
    }
    CHECK(a.stats().num_ooms == 1);
    CHECK(a.stats().allocated == int64_t(6 * kMiB));
    // The allocator is still usable and the failed request leaked nothing.
    a.deallocate(q);
    void* r = a.allocate(2 * kMiB, kS1);
    a.deallocate(r);
    a.empty_cache();
    CHECK(raw.used() == 0);
    CHECK(raw.bad_frees == 0);
}

TEST_CASE("caching allocator: destructor returns the cache", "[core][allocator]") {
    FakeRaw raw(kMiB);
    {
        CachingAllocator a(&raw);
        a.deallocate(a.allocate(1000, kS1));
        CHECK(raw.used() == 1024);
    }
    CHECK(raw.used() == 0);
}

TEST_CASE("caching allocator: record_stream keeps a block out of the cache until the other stream is done",
          "[core][allocator][record_stream]") {
    FakeRaw raw(64 * kMiB);
    CachingAllocator a(&raw);
    void* p = a.allocate(1000, kS1);
    a.record_stream(p, kS2);
    a.record_stream(p, kS2);  // duplicates: one event
    a.deallocate(p);
    CHECK(raw.live_events() == 1);
    CHECK(raw.events_on(kS2) == 1);
    // kS2's work is still queued: the same stream and size get a new block.
    void* q = a.allocate(1000, kS1);
    CHECK(q != p);
    CHECK(raw.allocs == 2);
    CHECK(a.stats().num_cache_hits == 0);
    a.deallocate(q);  // no recorded streams: straight to the cache, no event
    CHECK(raw.live_events() == 1);
    void* q2 = a.allocate(1000, kS1);
    CHECK(q2 == q);
    a.deallocate(q2);
    // kS2 finishes: the next allocation moves p into kS1's cache (not kS2's) and can reuse it.
    raw.finish_stream(kS2);
    void* r = a.allocate(1000, kS2);
    CHECK(r != p);
    CHECK(r != q);
    CHECK(raw.live_events() == 0);  // the done event was destroyed
    void* s1 = a.allocate(1000, kS1);
    void* s2 = a.allocate(1000, kS1);
    CHECK(((s1 == p && s2 == q) || (s1 == q && s2 == p)));
    CHECK(raw.allocs == 3);
    a.deallocate(r);
    a.deallocate(s1);
    a.deallocate(s2);
    a.empty_cache();
    CHECK(raw.used() == 0);
    CHECK(raw.bad_frees == 0);
    CHECK(raw.bad_events == 0);
}

TEST_CASE("caching allocator: record_stream waits for every recorded stream", "[core][allocator][record_stream]") {
    FakeRaw raw(64 * kMiB);
    CachingAllocator a(&raw);
    void* p = a.allocate(4096, kS1);
    a.record_stream(p, kS1);  // its own stream: nothing to wait for
    a.record_stream(p, kS2);
    a.record_stream(p, kS3);
    a.deallocate(p);
    CHECK(raw.live_events() == 2);
    raw.finish_stream(kS3);
    void* q = a.allocate(4096, kS1);
    CHECK(q != p);  // kS2 still busy
    CHECK(raw.live_events() == 1);
    raw.finish_stream(kS2);
    void* r = a.allocate(4096, kS1);
    CHECK(r == p);
    CHECK(raw.live_events() == 0);
    // Recording only its own stream changes nothing: the block is cached at once.
    void* t = a.allocate(512, kS1);
    a.record_stream(t, kS1);
    a.deallocate(t);
    CHECK(raw.live_events() == 0);
    CHECK(a.allocate(512, kS1) == t);
    CHECK(raw.bad_events == 0);
}

TEST_CASE("caching allocator: record_stream statistics and errors", "[core][allocator][record_stream]") {
    FakeRaw raw(64 * kMiB);
    CachingAllocator a(&raw);
    void* p = a.allocate(3 * kMiB, kS1);  // 4 MiB
    a.record_stream(p, kS2);
    a.deallocate(p);
    AllocatorStats s = a.stats();
    CHECK(s.allocated == 0);                    // pending is not allocated...
    CHECK(s.reserved == int64_t(4 * kMiB));     // ...but still reserved
    CHECK(s.peak_allocated == int64_t(4 * kMiB));
    raw.finish_stream(kS2);
    void* q = a.allocate(3 * kMiB, kS1);
    CHECK(q == p);
    s = a.stats();
    CHECK(s.allocated == int64_t(4 * kMiB));
    CHECK(s.reserved == int64_t(4 * kMiB));
    CHECK(s.num_cache_hits == 1);
    CHECK(s.num_raw_allocs == 1);
    a.deallocate(q);
    // record_stream of a pointer that is not live: an error naming the backend.
    int local = 0;
    CHECK_THROWS_WITH(a.record_stream(&local, kS2), Catch::Contains("fake:0") && Catch::Contains("record_stream"));
    CHECK_THROWS_AS(a.record_stream(q, kS2), Error);  // freed already
    CHECK(a.stats().allocated == 0);
}

TEST_CASE("caching allocator: empty_cache synchronises and frees pending blocks", "[core][allocator][record_stream]") {
    FakeRaw raw(64 * kMiB);
    CachingAllocator a(&raw);
    void* p = a.allocate(1000, kS1);
    void* q = a.allocate(2 * kMiB, kS2);
    a.record_stream(p, kS2);
    a.record_stream(q, kS3);
    a.deallocate(p);
    a.deallocate(q);
    void* c = a.allocate(100, kS1);
    a.deallocate(c);  // an ordinary cached block next to the pending ones
    CHECK(raw.live_events() == 2);
    const int syncs = raw.syncs;
    a.empty_cache();
    CHECK(raw.syncs == syncs + 1);
    CHECK(raw.live_events() == 0);
    CHECK(raw.used() == 0);
    CHECK(a.stats().reserved == 0);
    CHECK(a.stats().allocated == 0);
    CHECK(raw.bad_frees == 0);
    CHECK(raw.bad_events == 0);
}

TEST_CASE("caching allocator: out of memory also releases pending blocks", "[core][allocator][record_stream]") {
    FakeRaw raw(8 * kMiB);
    CachingAllocator a(&raw);
    void* p = a.allocate(4 * kMiB, kS1);
    a.record_stream(p, kS2);
    a.deallocate(p);  // pending: kS2 still busy
    void* q = a.allocate(6 * kMiB, kS1);  // fails, synchronises, frees the pending block, succeeds
    REQUIRE(q != nullptr);
    CHECK(a.stats().num_cache_flushes == 1);
    CHECK(a.stats().reserved == int64_t(6 * kMiB));
    CHECK(raw.live_events() == 0);
    a.deallocate(q);
    a.empty_cache();
    CHECK(raw.used() == 0);
    CHECK(raw.bad_events == 0);
}

TEST_CASE("caching allocator: record_stream on a backend without events", "[core][allocator][record_stream]") {
    FakeRaw raw(64 * kMiB);
    raw.with_events = false;  // RawAllocator's default hooks: nothing to wait for
    CachingAllocator a(&raw);
    void* p = a.allocate(1000, kS1);
    a.record_stream(p, kS2);
    a.deallocate(p);
    CHECK(a.allocate(1000, kS1) == p);
    CHECK(raw.queries == 0);
}

TEST_CASE("caching allocator: destructor frees pending blocks", "[core][allocator][record_stream]") {
    FakeRaw raw(kMiB);
    {
        CachingAllocator a(&raw);
        void* p = a.allocate(1000, kS1);
        a.record_stream(p, kS2);
        a.deallocate(p);
        CHECK(raw.used() == 1024);
    }
    CHECK(raw.used() == 0);
    CHECK(raw.live_events() == 0);
    CHECK(raw.bad_events == 0);
}
