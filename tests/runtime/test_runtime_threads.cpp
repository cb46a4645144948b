// run() is const and safe to call concurrently on ONE Session: 8 threads each make N calls over
// images of mixed sizes (sliding windows and whole images) and every output is bit-identical to a
// sequential call on the same image. N = 25 in ctest; SEGCORE_RUNTIME_THREAD_CALLS=200 for the
// long run (docs/runtime.md). Run it under the ThreadSanitizer build too (docs/building.md).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "seg/runtime/segcore_runtime.h"
#include "tests/runtime/runtime_test_util.h"
#include "tests/seg/inference_test_util.h"

using namespace segcore;
namespace rt = segcore::runtime;

namespace {

int calls_per_thread() {
    if (const char* env = std::getenv("SEGCORE_RUNTIME_THREAD_CALLS")) {
        const int n = std::atoi(env);
        if (n > 0) return n;
    }
    return 25;
}

struct Case {
    int64_t h, w;
    std::vector<uint8_t> pixels;
    rt::Result expected;
};

}  // namespace

TEST_CASE("runtime: 8 threads on one session give the sequential results bit for bit", "[runtime][threads]") {
    test::TempDir dir("runtime_threads");
    const std::string path = dir / "model.safetensors";
    const bool sliding = GENERATE(false, true);
    test::save_runtime_model(
        path, 4, nullptr, sliding ? nlohmann::json{{"mode", "sliding"}, {"crop", {16, 16}}} : nlohmann::json(nullptr));
    const rt::Session session(path);
    const rt::Request req{.labels = true, .probabilities = true, .logits = true, .entropy = true};

    std::vector<Case> cases;
    for (auto [h, w] : {std::pair<int64_t, int64_t>{8, 8}, {17, 23}, {24, 40}, {31, 9}, {12, 33}}) {
        Case c{h, w, test::random_pixels(h, w, 3, uint32_t(h * 31 + w)), {}};
        c.expected = session.run({c.pixels.data(), h, w, rt::PixelFormat::RGB8}, req);
        cases.push_back(std::move(c));
    }

    const int threads = 8, calls = calls_per_thread();
    std::atomic<int> mismatches{0}, errors{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < calls; ++i) {
                const Case& c = cases[size_t(t + i) % cases.size()];  // threads on different sizes at once
                try {
                    const rt::Result r = session.run({c.pixels.data(), c.h, c.w, rt::PixelFormat::RGB8}, req);
                    if (r.labels_u8 != c.expected.labels_u8 || r.probabilities != c.expected.probabilities ||
                        r.logits != c.expected.logits || r.entropy != c.expected.entropy)
                        ++mismatches;
                } catch (...) {
                    ++errors;
                }
            }
        });
    }
    for (auto& th : pool) th.join();
    CHECK(errors == 0);
    CHECK(mismatches == 0);
}
