#pragma once
// The contiguous store loop shared by the CPU elementwise kernels (not a public API).
//
// Outputs larger than the last-level cache are written with non-temporal (streaming) stores:
// a normal store first reads the destination line into the cache (write-allocate), so out = a + b
// would move four tensors' worth of bytes instead of three. Streaming keeps the op near memcpy
// speed (glibc's memcpy streams for the same reason). Small outputs use normal stores, so a
// result the next op reads stays in cache.
#include <cstdint>
#include <type_traits>

#if defined(__AVX__) || defined(__F16C__)
#include <immintrin.h>
#endif

#include "core/half.h"

namespace segcore::kernels::ew {

// Storage <-> compute type. f16 goes through the F16C instructions when the build targets them
// (x86-64-v3 does): the same round-to-nearest-even as Half's portable bit arithmetic, but one
// instruction instead of a dozen branches, which made f16 ops 10x slower than bf16.
template <typename A, typename T>
inline A to_acc(T v) {
#if defined(__F16C__)
    if constexpr (std::is_same_v<T, Half>) return _cvtsh_ss(v.bits);
#endif
    return A(v);
}
template <typename T, typename A>
inline T from_acc(A v) {
#if defined(__F16C__)
    if constexpr (std::is_same_v<T, Half>) {
        Half h;
        h.bits = _cvtss_sh(v, _MM_FROUND_TO_NEAREST_INT);
        return h;
    }
#endif
    return T(v);
}

inline constexpr int64_t kStreamingStoreMinBytes = int64_t(16) << 20;

// out[i] = produce(i) for i in [begin, end).
template <typename O, typename Produce>
inline void store_contiguous(O* out, int64_t begin, int64_t end, bool streaming, Produce&& produce) {
#if defined(__AVX__)
    if (streaming) {
        int64_t i = begin;
        while (i < end && (reinterpret_cast<uintptr_t>(out + i) & 31u) != 0) {  // head: align out to 32 bytes
            out[i] = produce(i);
            ++i;
        }
        // Compute a 1 KiB block into an L1-resident buffer with the plain (vectorisable) loop,
        // then stream it out in 32-byte stores.
        constexpr int64_t kBlock = 1024 / int64_t(sizeof(O));
        alignas(32) O buf[kBlock];
        for (; i + kBlock <= end; i += kBlock) {
            for (int64_t j = 0; j < kBlock; ++j) buf[j] = produce(i + j);
            char* dst = reinterpret_cast<char*>(out + i);
            const char* src = reinterpret_cast<const char*>(buf);
            for (int j = 0; j < 1024; j += 32)
                _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + j),
                                    _mm256_load_si256(reinterpret_cast<const __m256i*>(src + j)));
        }
        for (; i < end; ++i) out[i] = produce(i);
        _mm_sfence();  // streaming stores are weakly ordered: publish them before the chunk ends
        return;
    }
#endif
    for (int64_t i = begin; i < end; ++i) out[i] = produce(i);
}

// Streaming pays off only past the cache, and only when out is not also an input (in place, the
// destination lines are already in cache).
inline bool use_streaming_stores(int64_t numel, int64_t elem_size, const void* out, const void* in0,
                                 const void* in1 = nullptr) {
    return numel * elem_size >= kStreamingStoreMinBytes && out != in0 && out != in1;
}

}  // namespace segcore::kernels::ew
