// DType names/sizes/parsing and the host Half/BFloat16 conversions (round to nearest even,
// subnormals, inf/nan, overflow), checked against independent references.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "core/half_convert_cpu.h"

using namespace segcore;

namespace {

// Reference f32 -> bf16: pick the nearer of the two neighbouring bf16 values in double, ties to
// even. Above the largest bf16 the "next" value is 2^128 (which rounds to inf).
uint16_t ref_bf16(float f) {
    const uint32_t x = float_bits(f);
    const uint32_t sign = x & 0x80000000u, ax = x & 0x7fffffffu;
    const uint32_t lo = ax & 0xffff0000u, hi = lo + 0x10000u;
    const double v = bits_float(ax);
    const double vh = hi == 0x7f800000u ? std::ldexp(1.0, 128) : double(bits_float(hi));
    const double dl = v - double(bits_float(lo)), dh = vh - v;
    const uint32_t r = dl < dh ? lo : dh < dl ? hi : (((lo >> 16) & 1u) ? hi : lo);
    return uint16_t((sign | r) >> 16);
}

// Reference f32 -> f16 by search: the nearest finite half (ties to even mantissa), inf beyond
// 65520 (the midpoint between the largest half 65504 and the next step 65536).
uint16_t ref_f16(float f) {
    const double v = std::fabs(double(f));
    const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
    if (v >= 65520.0) return sign | 0x7c00;
    uint16_t best = 0;
    double best_d = std::numeric_limits<double>::infinity();
    // Binary search over the monotonic positive half range [0, 0x7bff].
    int lo = 0, hi = 0x7bff;
    while (lo < hi) {
        const int mid = (lo + hi + 1) / 2;
        if (double(Half::to_float(uint16_t(mid))) <= v) lo = mid;
        else hi = mid - 1;
    }
    for (int c = std::max(0, lo - 1); c <= std::min(0x7bff, lo + 1); ++c) {
        const double d = std::fabs(double(Half::to_float(uint16_t(c))) - v);
        if (d < best_d || (d == best_d && (c & 1) == 0)) { best_d = d; best = uint16_t(c); }
    }
    return sign | best;
}

bool half_is_nan(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }
bool bf16_is_nan(uint16_t h) { return (h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0; }

}  // namespace

TEST_CASE("dtype: names, sizes and parsing", "[core][dtype]") {
    struct Row { DType t; const char* name; size_t size; bool floating; };
    const Row rows[] = {{DType::F32, "f32", 4, true},   {DType::F64, "f64", 8, true},  {DType::F16, "f16", 2, true},
                        {DType::BF16, "bf16", 2, true}, {DType::I32, "i32", 4, false}, {DType::I64, "i64", 8, false},
                        {DType::U8, "u8", 1, false},    {DType::Bool, "bool", 1, false}};
    for (const Row& r : rows) {
        CHECK(std::string(dtype_name(r.t)) == r.name);
        CHECK(dtype_size(r.t) == r.size);
        CHECK(is_floating(r.t) == r.floating);
        CHECK(dtype_from_name(r.name) == r.t);
    }
    CHECK(dtype_from_name("float32") == DType::F32);
    CHECK(dtype_from_name("F32") == DType::F32);
    CHECK(dtype_from_name("BFloat16") == DType::BF16);
    CHECK(dtype_from_name("half") == DType::F16);
    CHECK(dtype_from_name("int64") == DType::I64);
    CHECK(is_half(DType::F16));
    CHECK(is_half(DType::BF16));
    CHECK_FALSE(is_half(DType::F32));
    CHECK(dtype_of<float> == DType::F32);
    CHECK(dtype_of<BFloat16> == DType::BF16);
    CHECK(dtype_of<bool> == DType::Bool);
    REQUIRE_THROWS_WITH(dtype_from_name("complex64"), Catch::Contains("unknown dtype 'complex64'"));
    REQUIRE_THROWS_WITH(visit_float_dtype(DType::I32, "my_op", [](auto) { return 0; }),
                        Catch::Contains("my_op") && Catch::Contains("i32"));
    CHECK(visit_dtype(DType::F64, [](auto tag) { return sizeof(typename decltype(tag)::type); }) == 8);
}

TEST_CASE("half: every f16 bit pattern survives a round trip through float", "[core][half]") {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = Half::to_float(uint16_t(h));
        const uint16_t back = Half::from_float(f);
        if (half_is_nan(uint16_t(h))) {
            REQUIRE(std::isnan(f));
            REQUIRE(half_is_nan(back));
            REQUIRE((back & 0x8000) == (h & 0x8000));
        } else {
            INFO("half bits " << h);
            REQUIRE(back == h);
        }
    }
}

TEST_CASE("half: known values, rounding, subnormals, overflow", "[core][half]") {
    CHECK(Half::from_float(0.0f) == 0x0000);
    CHECK(Half::from_float(-0.0f) == 0x8000);
    CHECK(Half::from_float(1.0f) == 0x3c00);
    CHECK(Half::from_float(-2.0f) == 0xc000);
    CHECK(Half::from_float(65504.0f) == 0x7bff);  // largest finite
    CHECK(Half::from_float(65519.99f) == 0x7bff);
    CHECK(Half::from_float(65520.0f) == 0x7c00);  // exactly the midpoint: ties to even = inf
    CHECK(Half::from_float(-65520.0f) == 0xfc00);
    CHECK(Half::from_float(1e10f) == 0x7c00);
    CHECK(Half::from_float(std::numeric_limits<float>::infinity()) == 0x7c00);
    CHECK(Half::from_float(-std::numeric_limits<float>::infinity()) == 0xfc00);
    CHECK(half_is_nan(Half::from_float(std::numeric_limits<float>::quiet_NaN())));
    CHECK(Half::from_float(6.103515625e-05f) == 0x0400);  // smallest normal 2^-14
    CHECK(Half::from_float(5.9604644775390625e-08f) == 0x0001);  // smallest subnormal 2^-24
    CHECK(Half::from_float(2.98023223876953125e-08f) == 0x0000);  // 2^-25: tie -> even (0)
    CHECK(Half::from_float(2.98023259e-08f) == 0x0001);           // just above the tie
    CHECK(Half::from_float(8.94069671630859375e-08f) == 0x0002);  // 1.5 * 2^-24: tie -> even (2)
    CHECK(Half::from_float(1e-10f) == 0x0000);
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even -> 1.
    CHECK(Half::from_float(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);
    // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even) -> 1 + 2^-9.
    CHECK(Half::from_float(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
    CHECK(Half::to_float(0x0001) == std::ldexp(1.0f, -24));
    CHECK(Half::to_float(0x03ff) == 1023 * std::ldexp(1.0f, -24));
    CHECK(Half::to_float(0x8001) == -std::ldexp(1.0f, -24));
    CHECK(std::isinf(Half::to_float(0x7c00)));
    CHECK(float(Half(3.5f)) == 3.5f);
}

TEST_CASE("half: f32 -> f16 matches a reference over a sweep of float bit patterns", "[core][half]") {
    // Every 251st pattern (17 million floats across all exponents), plus every float near the
    // edges of the half range.
    int64_t bad = 0;
    auto check = [&](uint32_t x) {
        const float f = bits_float(x);
        if (std::isnan(f)) return;
#if defined(__FLT16_MAX__)
        _Float16 r = static_cast<_Float16>(f);
        uint16_t want;
        std::memcpy(&want, &r, 2);
#else
        const uint16_t want = ref_f16(f);
#endif
        const uint16_t got = Half::from_float(f);
        if (got != want && bad++ < 5) FAIL_CHECK("f32 bits " << x << ": got " << got << ", want " << want);
    };
    for (uint64_t x = 0; x < (uint64_t(1) << 32); x += 251) check(uint32_t(x));
    for (uint32_t base : {0x477fe000u, 0x33000000u, 0x38800000u, 0x38000000u})  // 65504.., 2^-25, 2^-14, 2^-15
        for (uint32_t d = 0; d < 0x4000; ++d) {
            check(base + d);
            check((base + d) | 0x80000000u);
        }
    CHECK(bad == 0);
    // The search reference agrees with the fast path on a few hand-picked values too.
    for (float f : {0.1f, 1.0f / 3, 65519.0f, 3.0e-8f, 1e-5f, 12345.678f}) CHECK(ref_f16(f) == Half::from_float(f));
}

TEST_CASE("bfloat16: conversions round to nearest even and keep inf/nan", "[core][half]") {
    CHECK(BFloat16::from_float(1.0f) == 0x3f80);
    CHECK(BFloat16::from_float(-0.0f) == 0x8000);
    CHECK(float(BFloat16(1.0f)) == 1.0f);
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even -> 1.
    CHECK(BFloat16::from_float(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);
    CHECK(BFloat16::from_float(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);
    CHECK(BFloat16::from_float(std::numeric_limits<float>::infinity()) == 0x7f80);
    CHECK(BFloat16::from_float(std::numeric_limits<float>::max()) == 0x7f80);  // rounds up to inf
    CHECK(bf16_is_nan(BFloat16::from_float(std::numeric_limits<float>::quiet_NaN())));
    // A signalling NaN whose payload sits only in the low 16 bits must stay a NaN, not become inf.
    CHECK(bf16_is_nan(BFloat16::from_float(bits_float(0x7f800001u))));
    CHECK(BFloat16::from_float(bits_float(0x00000001u)) == 0x0000);  // tiny subnormal rounds to 0
    CHECK(BFloat16::from_float(bits_float(0x00018000u)) == 0x0002);  // subnormal tie -> even
    int64_t bad = 0;
    for (uint64_t x = 0; x < (uint64_t(1) << 32); x += 253) {
        const float f = bits_float(uint32_t(x));
        if (std::isnan(f)) {
            if (!bf16_is_nan(BFloat16::from_float(f))) ++bad;
            continue;
        }
        if (BFloat16::from_float(f) != ref_bf16(f) && bad++ < 5)
            FAIL_CHECK("f32 bits " << x << ": got " << BFloat16::from_float(f) << ", want " << ref_bf16(f));
    }
    CHECK(bad == 0);
    for (uint32_t b = 0; b < 65536; ++b) {  // every bf16 is a float: exact round trip
        if (bf16_is_nan(uint16_t(b))) continue;
        BFloat16 v;
        v.bits = uint16_t(b);
        REQUIRE(BFloat16::from_float(float(v)) == b);
    }
}

TEST_CASE("half: the portable conversions match the F16C path bit for bit", "[core][half]") {
    // Half::from_float / to_float use F16C where the build targets it; the portable bit arithmetic
    // serves other builds (and the .cu files). Both must round identically (NaNs: NaN, same sign).
    for (uint32_t h = 0; h < 65536; ++h) {
        const float a = Half::to_float(uint16_t(h)), b = Half::to_float_portable(uint16_t(h));
        if (half_is_nan(uint16_t(h))) {
            REQUIRE((std::isnan(a) && std::isnan(b) && std::signbit(a) == std::signbit(b)));
        } else {
            INFO("half bits " << h);
            REQUIRE(float_bits(a) == float_bits(b));
        }
    }
    int64_t bad = 0;
    for (uint64_t x = 0; x < (uint64_t(1) << 32); x += 241) {
        const float f = bits_float(uint32_t(x));
        const uint16_t a = Half::from_float(f), b = Half::from_float_portable(f);
        if (std::isnan(f) ? !(half_is_nan(a) && half_is_nan(b) && (a & 0x8000) == (b & 0x8000)) : a != b)
            if (bad++ < 5) FAIL_CHECK("f32 bits " << x << ": " << a << " vs portable " << b);
    }
    CHECK(bad == 0);
}

TEST_CASE("half: bulk conversions match the scalar ones for any length, alignment and store kind", "[core][half]") {
    // Inputs: every f16 bit pattern as floats (exact), then floats between the f16 steps.
    std::vector<float> src(70000 + 40);
    for (size_t i = 0; i < src.size(); ++i) {
        const float f = Half::to_float(uint16_t(i * 7919u));
        src[i] = (i % 3 == 0) ? f * 1.0009765625f : f;  // off the grid: exercises rounding
    }
    std::vector<float> back(src.size());
    std::vector<Half> h(src.size());
    std::vector<BFloat16> b(src.size());
    for (int64_t offset : {0, 1, 3, 7, 8}) {
        for (int64_t n : {int64_t(0), int64_t(1), int64_t(7), int64_t(9), int64_t(255), int64_t(257), int64_t(70000)}) {
            for (bool streaming : {false, true}) {
                INFO("offset " << offset << " n " << n << " streaming " << streaming);
                const float* s = src.data() + offset;
                float_to_half(s, h.data() + offset, n, streaming);
                float_to_bf16(s, b.data() + offset, n, streaming);
                streaming_fence();
                int64_t bad = 0;
                for (int64_t i = 0; i < n; ++i) {
                    const Half want(s[i]);
                    const BFloat16 want_b(s[i]);
                    bad += h[size_t(offset + i)].bits != want.bits && !std::isnan(s[i]);
                    bad += b[size_t(offset + i)].bits != want_b.bits && !std::isnan(s[i]);
                }
                CHECK(bad == 0);
                half_to_float(h.data() + offset, back.data() + offset, n, streaming);
                streaming_fence();
                for (int64_t i = 0; i < n; ++i)
                    bad += float_bits(back[size_t(offset + i)]) != float_bits(float(h[size_t(offset + i)])) &&
                           !std::isnan(back[size_t(offset + i)]);
                bf16_to_float(b.data() + offset, back.data() + offset, n, streaming);
                streaming_fence();
                for (int64_t i = 0; i < n; ++i)
                    bad += float_bits(back[size_t(offset + i)]) != float_bits(float(b[size_t(offset + i)])) &&
                           !std::isnan(back[size_t(offset + i)]);
                CHECK(bad == 0);
            }
        }
    }
}
