// Philox4x32-10 known answers and the random factories: statistics, determinism, layout
// independence.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <set>

#include "core/philox.h"
#include "core/tensor.h"

using namespace segcore;

TEST_CASE("philox: Random123 known-answer vectors for philox4x32-10", "[core][random]") {
    // philox4x32(counter, stream, seed) packs the counter words as (counter lo, counter hi,
    // stream lo, stream hi) and the key as (seed lo, seed hi).
    struct Kat { uint32_t ctr[4], key[2], out[4]; };
    const Kat kats[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (const Kat& k : kats) {
        const uint64_t counter = uint64_t(k.ctr[0]) | (uint64_t(k.ctr[1]) << 32);
        const uint64_t stream = uint64_t(k.ctr[2]) | (uint64_t(k.ctr[3]) << 32);
        const uint64_t seed = uint64_t(k.key[0]) | (uint64_t(k.key[1]) << 32);
        const philox::U32x4 r = philox::philox4x32(counter, stream, seed);
        for (int i = 0; i < 4; ++i) CHECK(r.x[i] == k.out[i]);
    }
}

TEST_CASE("philox: element helpers", "[core][random]") {
    CHECK(philox::uint_to_unit(0) == 0.0f);
    CHECK(philox::uint_to_unit(0xffffffffu) < 1.0f);
    CHECK(philox::bits_at(7, 0, 5) == philox::philox4x32(1, 0, 7).x[1]);
    for (int64_t i = 0; i < 1000; ++i) {
        const int64_t v = philox::randint_at(3, 0, i, -5, 5);
        CHECK(v >= -5);
        CHECK(v < 5);
    }
}

TEST_CASE("random: rand statistics", "[core][random]") {
    Generator g(1234);
    const Tensor t = rand({1000, 1000}, {}, &g);
    const Tensor td = t.to(DType::F64);
    const double* p = td.data<double>();
    double sum = 0, sq = 0, lo = 1, hi = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
        sum += p[i];
        sq += p[i] * p[i];
        lo = std::min(lo, p[i]);
        hi = std::max(hi, p[i]);
    }
    const double n = double(t.numel()), mean = sum / n, var = sq / n - mean * mean;
    CHECK(std::abs(mean - 0.5) < 3e-3);
    CHECK(std::abs(var - 1.0 / 12) < 2e-3);
    CHECK(lo >= 0.0);
    CHECK(hi < 1.0);
    CHECK(lo < 1e-4);
    CHECK(hi > 1 - 1e-4);
    CHECK(g.offset() == 1000000);

    Tensor u = empty({100000}, DType::F64);
    uniform_(u, -3, 5, &g);
    const double* q = u.data<double>();
    double s2 = 0;
    for (int64_t i = 0; i < u.numel(); ++i) {
        REQUIRE(q[i] >= -3);
        REQUIRE(q[i] < 5);
        s2 += q[i];
    }
    CHECK(std::abs(s2 / 1e5 - 1.0) < 0.05);
    REQUIRE_THROWS_WITH(uniform_(u, 2, 1, &g), Catch::Contains("greater than high"));
    Tensor it = empty({3}, DType::I32);
    REQUIRE_THROWS_WITH(uniform_(it, 0, 1, &g), Catch::Contains("floating-point"));
}

TEST_CASE("random: randn statistics", "[core][random]") {
    Generator g(99);
    const Tensor t = randn({1000000}, DType::F64, &g);
    const double* p = t.data<double>();
    double sum = 0, sq = 0, m4 = 0;
    int64_t beyond3 = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
        REQUIRE(std::isfinite(p[i]));
        sum += p[i];
        sq += p[i] * p[i];
        m4 += p[i] * p[i] * p[i] * p[i];
        beyond3 += std::abs(p[i]) > 3;
    }
    const double n = double(t.numel());
    CHECK(std::abs(sum / n) < 5e-3);
    CHECK(std::abs(sq / n - 1.0) < 1e-2);
    CHECK(std::abs(m4 / n - 3.0) < 0.1);             // normal kurtosis
    CHECK(std::abs(double(beyond3) / n - 0.0027) < 5e-4);

    Tensor x = empty({200000}, DType::F32);
    normal_(x, 10, 0.5, &g);
    const Tensor xd = x.to(DType::F64);
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < xd.numel(); ++i) { s += xd.data<double>()[i]; s2 += xd.data<double>()[i] * xd.data<double>()[i]; }
    const double mean = s / 2e5;
    CHECK(std::abs(mean - 10) < 0.01);
    CHECK(std::abs(s2 / 2e5 - mean * mean - 0.25) < 0.01);
    REQUIRE_THROWS_WITH(normal_(x, 0, -1, &g), Catch::Contains("stddev must be non-negative"));
    // 16-bit outputs are rounded from the f32 value.
    Generator g1(5), g2(5);
    const Tensor h = randn({1000}, DType::BF16, &g1);
    const Tensor f = randn({1000}, DType::F32, &g2);
    CHECK(h.to(DType::F32).get_double(17) == double(float(BFloat16(float(f.get_double(17))))));
}

TEST_CASE("random: randint range and coverage", "[core][random]") {
    Generator g(7);
    const Tensor t = randint(-3, 7, {100000}, DType::I64, &g);
    CHECK(t.dtype() == DType::I64);
    std::vector<int64_t> counts(10, 0);
    const int64_t* p = t.data<int64_t>();
    for (int64_t i = 0; i < t.numel(); ++i) {
        REQUIRE(p[i] >= -3);
        REQUIRE(p[i] < 7);
        counts[size_t(p[i] + 3)]++;
    }
    for (int64_t c : counts) CHECK(std::abs(c - 10000) < 500);
    const Tensor big = randint(0, int64_t(1) << 40, {1000}, DType::I64, &g);
    std::set<int64_t> distinct(big.data<int64_t>(), big.data<int64_t>() + 1000);
    CHECK(distinct.size() > 990);
    const Tensor b = randint(0, 2, {1000}, DType::U8, &g);
    std::set<double> seen;
    for (int64_t i = 0; i < b.numel(); ++i) seen.insert(b.get_double(i));
    CHECK(seen == std::set<double>{0, 1});
    CHECK(randint(5, 6, {10}, DType::I64, &g).get_double(9) == 5);
    REQUIRE_THROWS_WITH(randint(3, 3, {2}, DType::I64, &g), Catch::Contains("expected low < high"));
}

TEST_CASE("random: same seed gives the same numbers; offsets advance", "[core][random]") {
    Generator a(42), b(42);
    const Tensor x1 = rand({1000}, {}, &a), y1 = rand({1000}, {}, &b);
    CHECK(std::memcmp(x1.data_ptr(), y1.data_ptr(), size_t(x1.nbytes())) == 0);
    const Tensor x2 = rand({1000}, {}, &a);  // advanced: different numbers
    CHECK(std::memcmp(x1.data_ptr(), x2.data_ptr(), size_t(x1.nbytes())) != 0);
    a.manual_seed(42);
    CHECK(a.offset() == 0);
    const Tensor x3 = rand({1000}, {}, &a);
    CHECK(std::memcmp(x1.data_ptr(), x3.data_ptr(), size_t(x1.nbytes())) == 0);
    Generator c(43);
    CHECK(std::memcmp(x1.data_ptr(), rand({1000}, {}, &c).data_ptr(), size_t(x1.nbytes())) != 0);
    // The default generator obeys manual_seed.
    manual_seed(11);
    const Tensor d1 = randn({64});
    manual_seed(11);
    const Tensor d2 = randn({64});
    CHECK(std::memcmp(d1.data_ptr(), d2.data_ptr(), size_t(d1.nbytes())) == 0);
    // Results do not depend on how the work was split across threads.
    Generator e1(8), e2(8);
    const Tensor big = randn({300001}, {}, &e1);
    Tensor big2 = empty({300001});
    normal_(big2, 0, 1, &e2);
    CHECK(std::memcmp(big.data_ptr(), big2.data_ptr(), size_t(big.nbytes())) == 0);
}

TEST_CASE("random: values depend on the logical index, not the layout", "[core][random]") {
    for (int kind = 0; kind < 3; ++kind) {
        Generator g1(2024), g2(2024);
        Tensor contiguous = empty({37, 53}, kind == 2 ? DType::I64 : DType::F32);
        Tensor storage = empty({53, 37}, contiguous.dtype());
        Tensor transposed = storage.t();  // (37, 53) view with strides (1, 37)
        if (kind == 0) { uniform_(contiguous, -1, 2, &g1); uniform_(transposed, -1, 2, &g2); }
        if (kind == 1) { normal_(contiguous, 0, 1, &g1); normal_(transposed, 0, 1, &g2); }
        if (kind == 2) { contiguous = randint(0, 1000, {37, 53}, DType::I64, &g1);
                         transposed = storage.t(); transposed.copy_(randint(0, 1000, {37, 53}, DType::I64, &g2)); }
        const Tensor a = contiguous.to(DType::F64), b = transposed.contiguous().to(DType::F64);
        CHECK(std::memcmp(a.data_ptr(), b.data_ptr(), size_t(a.nbytes())) == 0);
    }
    // A strided slice too: element i of the view gets the value of element i of a dense tensor.
    Generator g1(3), g2(3);
    Tensor base = zeros({100});
    Tensor view = base.slice(0, 1, 100, 3);
    uniform_(view, 0, 1, &g1);
    const Tensor dense = rand({view.numel()}, {}, &g2);
    for (int64_t i = 0; i < view.numel(); ++i) CHECK(view.get_double(i) == dense.get_double(i));
    CHECK(base.get_double(0) == 0);
}
