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
#include "core/half_convert_cpu.h"

namespace segcore::kernels::ew {

// Storage <-> compute type (Half converts with F16C where the build targets it: core/half.h).
template <typename A, typename T>
inline A to_acc(T v) {
    return A(v);
}
template <typename T, typename A>
inline T from_acc(A v) {
    return T(v);
}

inline constexpr int64_t kStreamingStoreMinBytes = int64_t(16) << 20;

// f16 contiguous loops: GCC does not vectorise Half's scalar F16C conversion, so f16 ops ran at a
// quarter of bf16's speed. Instead they convert a block of kHalfBlock elements to f32 in L1,
// compute there (the same vectorised f32 loop), and convert back 8 lanes at a time.
inline constexpr int64_t kHalfBlock = 256;

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
