#pragma once
// Host-side 16-bit float types. Bit-compatible with CUDA's __half and __nv_bfloat16, so kernel
// declarations can use these types and the .cu files reinterpret the pointers.
// Conversions round to nearest even, as the hardware does. Where the build targets F16C
// (x86-64-v3 does), Half converts with the F16C instructions: the same rounding as the portable
// bit arithmetic below (tests/core/test_dtype_half.cpp compares both against references), one
// instruction instead of a dozen branches. NaNs stay NaNs with their sign either way; F16C also
// keeps the top payload bits. (.cu files always compile the portable form.) Bulk conversions of
// arrays, 8 lanes at a time: core/half_convert_cpu.h.
#include <cstdint>
#include <cstring>

#if defined(__F16C__) && !defined(__CUDACC__)
#include <immintrin.h>
#define SEGCORE_HALF_F16C 1
#else
#define SEGCORE_HALF_F16C 0
#endif

namespace segcore {

inline uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

struct Half {
    uint16_t bits = 0;
    Half() = default;
    Half(float f) : bits(from_float(f)) {}  // NOLINT: implicit, like a builtin float type
    operator float() const { return to_float(bits); }

    static uint16_t from_float(float f) {
#if SEGCORE_HALF_F16C
        return uint16_t(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
#else
        return from_float_portable(f);
#endif
    }
    static float to_float(uint16_t h) {
#if SEGCORE_HALF_F16C
        return _cvtsh_ss(h);
#else
        return to_float_portable(h);
#endif
    }

    static uint16_t from_float_portable(float f) {
        const uint32_t x = float_bits(f);
        const uint32_t sign = (x >> 16) & 0x8000u;
        const uint32_t ax = x & 0x7fffffffu;
        if (ax >= 0x7f800000u) return uint16_t(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));  // inf/nan
        if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds to >= 65520: overflow to inf
        if (ax < 0x38800000u) {                                 // below the smallest normal half: subnormal
            // Adding 0.5 makes the FPU do the round-to-nearest-even at the subnormal step 2^-24.
            const float r = bits_float(ax) + 0.5f;
            return uint16_t(sign | (float_bits(r) - 0x3f000000u));
        }
        const uint32_t mant_odd = (ax >> 13) & 1u;
        const uint32_t rounded = ax + 0xc8000fffu + mant_odd;  // rebias exponent (-112<<23) and round
        return uint16_t(sign | (rounded >> 13));
    }
    static float to_float_portable(uint16_t h) {
        const uint32_t sign = uint32_t(h & 0x8000u) << 16;
        const uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
        if (exp == 0x1f) return bits_float(sign | 0x7f800000u | (mant << 13));
        if (exp == 0) {  // zero or subnormal: mant * 2^-24
            const float v = float(mant) * 5.9604644775390625e-8f;
            return sign ? -v : v;
        }
        return bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
    }
};

struct BFloat16 {
    uint16_t bits = 0;
    BFloat16() = default;
    BFloat16(float f) : bits(from_float(f)) {}  // NOLINT
    operator float() const { return bits_float(uint32_t(bits) << 16); }

    static uint16_t from_float(float f) {
        const uint32_t x = float_bits(f);
        if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);  // quiet nan
        return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
    }
};

}  // namespace segcore
