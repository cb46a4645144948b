#pragma once
// f32 exp, tanh and erf for the CPU kernels (elementwise, softmax), written so that GCC
// vectorises a plain loop that calls them: straight-line arithmetic, selects instead of branches,
// std::bit_cast instead of libm's calls. A loop of libm expf runs at ~1 element per few ns; with
// these it runs 8 lanes per AVX2 instruction and the elementwise ops become memory-bound again.
//
// Accuracy (tests/kernels/test_vec_math.cpp sweeps the float range against double libm):
//   exp_f32   <= 1 ulp (0.98 over every float); 0 below ~-103.97, inf above ~88.72, NaN stays NaN
//   tanh_f32  <= 2.5 ulp (2.42; glibc's tanhf: 2.1);  erf_f32 <= 1.5 ulp (1.12)
// The scalar and the vectorised forms perform the same operations in the same order, so a value
// does not depend on which lane or loop tail it landed in.
//
// The polynomial coefficients were fitted for this file (Lawson's iteration for the weighted
// minimax error in long double against expm1l / erfl / erfcl, then rounded to float).
// f64 kernels keep libm; CUDA uses its own expf/erff/tanhf (this header is host-only).
#include <bit>
#include <cmath>
#include <cstdint>

namespace segcore::kernels::vec {

// a * b + c with one rounding where the target has FMA (x86-64-v3 does). Without FMA the
// results stay within the stated bounds plus about half an ulp.
inline float fmadd(float a, float b, float c) {
#if defined(__FMA__)
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}

namespace detail {

// 2^k for k in [-126, 127], built from the exponent bits.
inline float pow2i(int32_t k) { return std::bit_cast<float>((uint32_t(k) + 127u) << 23); }

// expm1(s) = s + s^2 * P(s) for |s| <= ln2/2: relative error 2.4e-10 before rounding.
inline float expm1_poly(float s) {
    float p = 1.984587871e-04f;
    p = fmadd(p, s, 1.394062769e-03f);
    p = fmadd(p, s, 8.333389647e-03f);
    p = fmadd(p, s, 4.166636243e-02f);
    p = fmadd(p, s, 1.666666567e-01f);
    p = fmadd(p, s, 0.5f);
    return fmadd(s * s, p, s);
}

// Range reduction x = n*ln2 + s, |s| <= ln2/2. Adding 1.5*2^23 leaves round(x*log2(e)) (ties to
// even) in the low mantissa bits, so n comes out as a float and as an integer without a
// float->int conversion (which would be undefined for NaN). Valid for |x| < 2^21.
struct Reduced {
    float s;
    int32_t n;
};
inline Reduced reduce_ln2(float x) {
    constexpr float kShifter = 12582912.0f;  // 1.5 * 2^23
    const float t = fmadd(x, 1.44269504088896341f, kShifter);
    const float n = t - kShifter;
    // ln2 split into a head with trailing zero bits (n * head is exact for |n| < 2^9) and a tail.
    float s = fmadd(n, -0.693145751953125f, x);
    s = fmadd(n, -1.428606765330187e-06f, s);
    return {s, int32_t(std::bit_cast<uint32_t>(t) - std::bit_cast<uint32_t>(kShifter))};
}

inline float copysign_bits(float magnitude, float sign) {
    return std::bit_cast<float>(std::bit_cast<uint32_t>(magnitude) | (std::bit_cast<uint32_t>(sign) & 0x80000000u));
}

// Selects and clamps on the integer bits. A float "c ? a : b" becomes a branch in GIMPLE, GCC then
// sinks or duplicates the float arithmetic of an arm into it, and under -ftrapping-math (the
// default) it will not if-convert an arm holding float arithmetic: the loop stays scalar.
// Integer selects and std::min on the bits of a non-negative float have no such arm.
inline float select(bool c, float a, float b) {
    const uint32_t m = 0u - uint32_t(c);
    return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & m) | (std::bit_cast<uint32_t>(b) & ~m));
}
inline uint32_t abs_bits(float x) { return std::bit_cast<uint32_t>(x) & 0x7fffffffu; }
inline bool is_nan(float x) { return abs_bits(x) > 0x7f800000u; }
// min(|x|, hi) for hi >= 0; a NaN comes out as hi (callers restore it with is_nan).
inline float abs_min(float x, float hi) {
    const uint32_t a = abs_bits(x), h = std::bit_cast<uint32_t>(hi);
    return std::bit_cast<float>(a < h ? a : h);
}

}  // namespace detail

inline float exp_f32(float x) {
    // Past the clamps the result is 0 or inf anyway; inside them n stays within [-150, 128].
    // A NaN fails both comparisons and passes through.
    x = detail::select(x < -104.0f, -104.0f, x);
    x = detail::select(x > 89.0f, 89.0f, x);
    const detail::Reduced r = detail::reduce_ln2(x);
    const float e = 1.0f + detail::expm1_poly(r.s);
    // 2^n as two factors: n reaches 128 (overflow to inf comes out of the multiply) and -150
    // (the second multiply rounds once into the subnormal range).
    const int32_t n1 = r.n >> 1;
    return e * detail::pow2i(n1) * detail::pow2i(r.n - n1);
}

// tanh(x) = sign(x) * e / (e + 2) with e = expm1(2|x|): no cancellation near 0, where
// 1 - 2/(exp(2x) + 1) would lose every digit.
inline float tanh_f32(float x) {
    const float a = detail::abs_min(x, 10.0f);  // tanh(10) is 1.0f; keeps 2|x| far from overflow
    const detail::Reduced r = detail::reduce_ln2(2.0f * a);
    // expm1(2a) = 2^n * expm1(s) + (2^n - 1): exact at n = 0, one rounding elsewhere (n <= 29).
    const float scale = detail::pow2i(r.n);
    const float e = fmadd(detail::expm1_poly(r.s), scale, scale - 1.0f);
    return detail::select(detail::is_nan(x), x, detail::copysign_bits(e / (e + 2.0f), x));
}

// erf(x): |x| < 0.921875: x + x * P(x^2);  above: 1 - exp(-x^2 + R(|x|)) with R fitted to
// log(erfc(x)) + x^2, which varies slowly (-0.85 .. -2). Both branches are computed and one is
// selected per lane. erf(x) rounds to +-1 for |x| > 3.92, so |x| is clamped to 4.
inline float erf_f32(float x) {
    const float a = detail::abs_min(x, 4.0f);
    const float s = a * a;
    float p = 8.370100113e-05f;
    p = fmadd(p, s, -8.142704028e-04f);
    p = fmadd(p, s, 5.201032385e-03f);
    p = fmadd(p, s, -2.685939893e-02f);
    p = fmadd(p, s, 1.128369570e-01f);
    p = fmadd(p, s, -3.761263490e-01f);
    p = fmadd(p, s, 1.283791661e-01f);
    const float small = fmadd(p, a, a);
    float q = 1.947335695e-04f;
    q = fmadd(q, a, -3.031592118e-03f);
    q = fmadd(q, a, 2.218136564e-02f);
    q = fmadd(q, a, -1.038388386e-01f);
    q = fmadd(q, a, 3.627141714e-01f);
    q = fmadd(q, a, -1.127615452e+00f);
    q = fmadd(q, a, -2.099231642e-04f);
    const float large = 1.0f - exp_f32(fmadd(-a, a, q));
    const float r = detail::select(detail::abs_bits(x) < std::bit_cast<uint32_t>(0.921875f), small, large);
    return detail::select(detail::is_nan(x), x, detail::copysign_bits(r, x));
}

}  // namespace segcore::kernels::vec
