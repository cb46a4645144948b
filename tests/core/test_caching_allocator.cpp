// CachingAllocator logic on the CPU with a fake, capacity-limited backend.
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
    void synchronize() override { ++syncs; }
    std::string name() const override { return "fake:0"; }
    size_t used() const { return used_; }

    int allocs = 0, frees = 0, syncs = 0, bad_frees = 0;

private:
    size_t capacity_, used_ = 0;
    std::map<void*, size_t> live_;
};

constexpr uintptr_t kS1 = 0x1000, kS2 = 0x2000;
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
