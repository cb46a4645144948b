#pragma once
// Bulk f16/bf16 <-> f32 conversion of contiguous arrays on the CPU, for casts (core/copy_cpu.cpp)
// and the f16 elementwise loops. Same rounding as Half / BFloat16 (to nearest even), bit for bit.
//
// f16 goes through F16C's 8-lane vcvtph2ps / vcvtps2ph: GCC does not vectorise the scalar F16C
// conversion Half uses, so a plain loop over Half runs one element at a time. bf16 needs only
// integer shifts and adds, and GCC vectorises the plain loops over BFloat16 as they are.
//
// `streaming` writes the 16/32-byte aligned part of dst with non-temporal stores (for outputs
// past the last-level cache); the caller issues streaming_fence() before its results are read.
#include <cstdint>

#if defined(__SSE2__)
#include <immintrin.h>
#endif
#if defined(__F16C__) && defined(__AVX__)
#define SEGCORE_BULK_F16C 1
#else
#define SEGCORE_BULK_F16C 0
#endif

#include "core/half.h"

namespace segcore {

inline void streaming_fence() {
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

inline void half_to_float(const Half* src, float* dst, int64_t n, bool streaming = false) {
    int64_t i = 0;
#if SEGCORE_BULK_F16C
    auto load8 = [&](int64_t j) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + j))); };
    if (streaming) {
        for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 31u) != 0; ++i) dst[i] = float(src[i]);
        for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, load8(i));
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(i));
#endif
    for (; i < n; ++i) dst[i] = float(src[i]);
}

inline void float_to_half(const float* src, Half* dst, int64_t n, bool streaming = false) {
    int64_t i = 0;
#if SEGCORE_BULK_F16C
    auto convert8 = [&](int64_t j) { return _mm256_cvtps_ph(_mm256_loadu_ps(src + j), _MM_FROUND_TO_NEAREST_INT); };
    if (streaming) {
        for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 15u) != 0; ++i) dst[i] = Half(src[i]);
        for (; i + 8 <= n; i += 8) _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), convert8(i));
    }
    for (; i + 8 <= n; i += 8) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), convert8(i));
#endif
    for (; i < n; ++i) dst[i] = Half(src[i]);
}

// The bf16 loops vectorise by themselves; streaming goes through an L1 block so the stores can be
// 32-byte non-temporal ones.
inline void bf16_to_float(const BFloat16* src, float* dst, int64_t n, bool streaming = false) {
    int64_t i = 0;
#if defined(__AVX__)
    if (streaming) {
        for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 31u) != 0; ++i) dst[i] = float(src[i]);
        alignas(32) float buf[256];
        for (; i + 256 <= n; i += 256) {
            for (int j = 0; j < 256; ++j) buf[j] = float(src[i + j]);
            for (int j = 0; j < 256; j += 8) _mm256_stream_ps(dst + i + j, _mm256_load_ps(buf + j));
        }
    }
#endif
    for (; i < n; ++i) dst[i] = float(src[i]);
}

inline void float_to_bf16(const float* src, BFloat16* dst, int64_t n, bool streaming = false) {
    int64_t i = 0;
#if defined(__AVX__)
    if (streaming) {
        for (; i < n && (reinterpret_cast<uintptr_t>(dst + i) & 31u) != 0; ++i) dst[i] = BFloat16(src[i]);
        alignas(32) BFloat16 buf[256];
        for (; i + 256 <= n; i += 256) {
            for (int j = 0; j < 256; ++j) buf[j] = BFloat16(src[i + j]);
            for (int j = 0; j < 256; j += 16)
                _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + i + j),
                                    _mm256_load_si256(reinterpret_cast<const __m256i*>(buf + j)));
        }
    }
#endif
    for (; i < n; ++i) dst[i] = BFloat16(src[i]);
}

}  // namespace segcore
