// parallel_for: exact coverage, exceptions, nesting, thread count.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/parallel.h"

using namespace segcore;

TEST_CASE("parallel_for: covers the range exactly once", "[core][parallel]") {
    for (int64_t n : {0L, 1L, 7L, 1000L, 32768L, 32769L, 1000003L}) {
        for (int64_t grain : {int64_t(1), int64_t(100), kDefaultGrain}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
            std::atomic<int64_t> calls{0};
            parallel_for(5, 5 + n, grain, [&](int64_t b, int64_t e) {
                REQUIRE(b < e);
                REQUIRE(e - b >= std::min<int64_t>(grain, n));
                calls++;
                for (int64_t i = b; i < e; ++i) hits[size_t(i - 5)]++;
            });
            for (int64_t i = 0; i < n; ++i) REQUIRE(hits[size_t(i)] == 1);
            CHECK(calls <= std::max(1, num_threads()));
            if (n == 0) CHECK(calls == 0);
        }
    }
    int called = 0;
    parallel_for(10, 3, 1, [&](int64_t, int64_t) { called++; });  // empty range
    CHECK(called == 0);
}

TEST_CASE("parallel_for: exceptions propagate to the caller", "[core][parallel]") {
    for (int rep = 0; rep < 20; ++rep) {
        CHECK_THROWS_WITH(parallel_for(0, 1 << 20, 1, [&](int64_t b, int64_t e) {
                              if (b <= 777777 && 777777 < e) throw std::runtime_error("boom at 777777");
                          }),
                          "boom at 777777");
    }
    // The pool still works afterwards.
    std::atomic<int64_t> sum{0};
    parallel_for(0, 100000, 1, [&](int64_t b, int64_t e) {
        int64_t s = 0;
        for (int64_t i = b; i < e; ++i) s += i;
        sum += s;
    });
    CHECK(sum == int64_t(100000) * 99999 / 2);
}

TEST_CASE("parallel_for: nested calls run serially inside a worker", "[core][parallel]") {
    std::vector<std::atomic<int>> hits(100 * 1000);
    parallel_for(0, 100, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            parallel_for(0, 1000, 1, [&](int64_t b2, int64_t e2) {
                for (int64_t j = b2; j < e2; ++j) hits[size_t(i * 1000 + j)]++;
            });
    });
    for (auto& h : hits) REQUIRE(h == 1);
}

TEST_CASE("parallel_for: calls from several user threads", "[core][parallel]") {
    std::atomic<int64_t> total{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int r = 0; r < 20; ++r)
                parallel_for(0, 50000, 1000, [&](int64_t b, int64_t e) { total += e - b; });
        });
    for (auto& t : threads) t.join();
    CHECK(total == 4 * 20 * 50000);
}

TEST_CASE("parallel_for: set_num_threads", "[core][parallel]") {
    const int before = num_threads();
    set_num_threads(1);
    CHECK(num_threads() == 1);
    std::set<std::thread::id> ids;
    std::mutex mu;
    parallel_for(0, 1 << 20, 1, [&](int64_t, int64_t) {
        std::lock_guard<std::mutex> l(mu);
        ids.insert(std::this_thread::get_id());
    });
    CHECK(ids == std::set<std::thread::id>{std::this_thread::get_id()});
    set_num_threads(3);
    CHECK(num_threads() == 3);
    int calls = 0;
    parallel_for(0, 300, 1, [&](int64_t, int64_t) {
        std::lock_guard<std::mutex> l(mu);
        calls++;
    });
    CHECK(calls == 3);
    REQUIRE_THROWS_WITH(set_num_threads(0), Catch::Contains("at least 1 thread"));
    set_num_threads(before);
    CHECK(num_threads() == before);
}
