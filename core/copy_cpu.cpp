// CPU reference for copy, fill and random fill (core/copy.h).
#include <algorithm>
#include <cstring>
#include <type_traits>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "core/copy.h"
#include "core/half_convert_cpu.h"
#include "core/parallel.h"
#include "core/philox.h"

namespace segcore {

namespace {

// Conversion through the widest natural type: float types via double (exact for every f16/bf16/f32
// value), integers stay integers, bool is "!= 0".
template <typename D, typename S>
inline D convert(S v) {
    if constexpr (std::is_same_v<D, S>) {
        return v;
    } else if constexpr (std::is_same_v<D, bool>) {
        if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) return float(v) != 0.0f;
        else return v != S(0);
    } else if constexpr (std::is_same_v<D, Half> || std::is_same_v<D, BFloat16>) {
        return D(float(v));  // double -> float -> half, as PyTorch does
    } else if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
        return D(float(v));
    } else {
        return D(v);
    }
}

// Outputs past the last-level cache are written with streaming stores (as glibc's memcpy does):
// a plain store first reads the destination line, a quarter to a half more traffic for a cast.
constexpr int64_t kStreamingMinBytes = int64_t(16) << 20;

// The casts between f32 and f16/bf16 (mixed-precision training moves every activation through
// one) convert 8 lanes at a time (core/half_convert_cpu.h) instead of element by element.
template <typename D, typename S>
constexpr bool kBulkCast = (std::is_same_v<D, float> && (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>)) ||
                           (std::is_same_v<S, float> && (std::is_same_v<D, Half> || std::is_same_v<D, BFloat16>));

template <typename D, typename S>
void bulk_cast(D* o, const S* x, int64_t n, bool streaming) {
    if constexpr (std::is_same_v<S, Half>)
        half_to_float(x, o, n, streaming);
    else if constexpr (std::is_same_v<S, BFloat16>)
        bf16_to_float(x, o, n, streaming);
    else if constexpr (std::is_same_v<D, Half>)
        float_to_half(x, o, n, streaming);
    else
        float_to_bf16(x, o, n, streaming);
}

// Transposed copies: x.permute(...).contiguous(), or a contiguous tensor copied into a permuted
// view. After coalescing, the inner dim is contiguous on one side and strided on the other, so the
// row loop touched a new cache line (and, for large strides, a new page) per element on the
// strided side: 0.9 GB/s for NCHW -> NHWC at C = 256. The tiled path pairs the inner dim with the
// dim that is most contiguous on the strided side (H*W for NCHW -> NHWC) and copies tiles of
// kTileElems elements: both sides' cache lines stay in L1 while a tile is copied.
struct TransposePlan {
    int inner = -1, partner = -1;        // geometry dims: inner = the last dim
    int64_t b_inner = 0, b_partner = 0;  // tile extent along each
    bool inner_loop_on_inner = true;     // loop order within a tile: writes along dst's contiguous dim
    int n_outer = 0;
    int outer[kMaxDims] = {};
    int64_t outer_numel = 1;
};

constexpr int64_t kTileElems = 4096;

// Returns false when the geometry is not a transpose (then the row loop is as good).
bool plan_transpose(const StridedGeometry<2>& g, TransposePlan& t) {
    if (g.ndim < 2) return false;
    const int last = g.ndim - 1;
    auto mag = [](int64_t v) { return v < 0 ? -v : v; };
    const int64_t sd = mag(g.strides[0][last]), ss = mag(g.strides[1][last]);
    if ((sd == 1) == (ss == 1)) return false;  // both contiguous (the row loop) or neither
    const int strided = sd == 1 ? 1 : 0;       // the operand that is strided along the inner dim
    int partner = -1;                          // its most contiguous other dim (broadcast dims excluded)
    for (int d = 0; d < last; ++d)
        if (g.strides[strided][d] != 0 &&
            (partner < 0 || mag(g.strides[strided][d]) < mag(g.strides[strided][partner])))
            partner = d;
    if (partner < 0 || mag(g.strides[strided][partner]) >= mag(g.strides[strided][last])) return false;
    t.inner = last;
    t.partner = partner;
    const int64_t n_inner = g.sizes[last], n_partner = g.sizes[partner];
    // Few strided rows per tile, long runs along the partner: the strided side's rows are often a
    // power of two apart (H*W floats) and share cache sets, so 32 or 64 of them thrash L1 and L2
    // (64x64 tiles measured 5 GB/s at C = 256); 8 rows by 512 ran at 28-33.
    t.b_inner = std::min<int64_t>(n_inner, 8);
    t.b_partner = std::min<int64_t>(n_partner, std::max<int64_t>(8, kTileElems / t.b_inner));
    t.inner_loop_on_inner = sd <= mag(g.strides[0][partner]);
    t.n_outer = 0;
    t.outer_numel = 1;
    for (int d = 0; d < last; ++d)
        if (d != partner) {
            t.outer[t.n_outer++] = d;
            t.outer_numel *= g.sizes[d];
        }
    return true;
}

#if defined(__AVX__)
// 8x8 register transposes: dst[j * ld_dst + k] = src[k * ld_src + j] for 4-byte and 2-byte elements.
inline void transpose_8x8_b32(const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld_src), r2 = _mm256_loadu_ps(src + 2 * ld_src),
           r3 = _mm256_loadu_ps(src + 3 * ld_src), r4 = _mm256_loadu_ps(src + 4 * ld_src),
           r5 = _mm256_loadu_ps(src + 5 * ld_src), r6 = _mm256_loadu_ps(src + 6 * ld_src),
           r7 = _mm256_loadu_ps(src + 7 * ld_src);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
                 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee),
                 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee),
                 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee),
                 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + ld_dst, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ld_dst, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ld_dst, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ld_dst, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ld_dst, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ld_dst, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ld_dst, _mm256_permute2f128_ps(u3, u7, 0x31));
}

inline void transpose_8x8_b16(const uint16_t* src, int64_t ld_src, uint16_t* dst, int64_t ld_dst) {
    auto load = [&](int k) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k * ld_src)); };
    const __m128i r0 = load(0), r1 = load(1), r2 = load(2), r3 = load(3), r4 = load(4), r5 = load(5), r6 = load(6),
                  r7 = load(7);
    const __m128i a0 = _mm_unpacklo_epi16(r0, r1), a1 = _mm_unpackhi_epi16(r0, r1), a2 = _mm_unpacklo_epi16(r2, r3),
                  a3 = _mm_unpackhi_epi16(r2, r3), a4 = _mm_unpacklo_epi16(r4, r5), a5 = _mm_unpackhi_epi16(r4, r5),
                  a6 = _mm_unpacklo_epi16(r6, r7), a7 = _mm_unpackhi_epi16(r6, r7);
    const __m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2), b2 = _mm_unpacklo_epi32(a1, a3),
                  b3 = _mm_unpackhi_epi32(a1, a3), b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6),
                  b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
    auto store = [&](int j, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + j * ld_dst), v); };
    store(0, _mm_unpacklo_epi64(b0, b4));
    store(1, _mm_unpackhi_epi64(b0, b4));
    store(2, _mm_unpacklo_epi64(b1, b5));
    store(3, _mm_unpackhi_epi64(b1, b5));
    store(4, _mm_unpacklo_epi64(b2, b6));
    store(5, _mm_unpackhi_epi64(b2, b6));
    store(6, _mm_unpacklo_epi64(b3, b7));
    store(7, _mm_unpackhi_epi64(b3, b7));
}

template <size_t kSize>
void transpose_8x8(const void* src, int64_t ld_src, void* dst, int64_t ld_dst) {
    if constexpr (kSize == 4)
        transpose_8x8_b32(static_cast<const float*>(src), ld_src, static_cast<float*>(dst), ld_dst);
    else
        transpose_8x8_b16(static_cast<const uint16_t*>(src), ld_src, static_cast<uint16_t*>(dst), ld_dst);
}
#endif

// Copies one ni x np tile: o[p * dp + i * di] = x[p * sp + i * si].
template <typename D, typename S>
void copy_tile(D* o, const S* x, int64_t ni, int64_t np, int64_t di, int64_t dp, int64_t si, int64_t sp,
               bool inner_loop_on_inner) {
#if defined(__AVX__)
    if constexpr ((sizeof(D) == 4 || sizeof(D) == 2) && std::is_same_v<D, S>) {
        // The two transposes: dst contiguous along i and x along p, or the mirror image.
        if ((di == 1 && sp == 1) || (dp == 1 && si == 1)) {
            const bool dst_along_i = di == 1;
            const int64_t i_done = ni - ni % 8, p_done = np - np % 8;  // covered by 8x8 blocks
            for (int64_t i = 0; i < i_done; i += 8)
                for (int64_t p = 0; p < p_done; p += 8) {
                    if (dst_along_i)
                        transpose_8x8<sizeof(D)>(x + p * sp + i * si, si, o + p * dp + i * di, dp);
                    else
                        transpose_8x8<sizeof(D)>(x + p * sp + i * si, sp, o + p * dp + i * di, di);
                }
            // The remainders: p beyond p_done for all i, then i beyond i_done for p < p_done.
            for (int64_t i = 0; i < ni; ++i)
                for (int64_t p = p_done; p < np; ++p) o[p * dp + i * di] = convert<D>(x[p * sp + i * si]);
            for (int64_t i = i_done; i < ni; ++i)
                for (int64_t p = 0; p < p_done; ++p) o[p * dp + i * di] = convert<D>(x[p * sp + i * si]);
            return;
        }
    }
#endif
    if (inner_loop_on_inner) {
        for (int64_t p = 0; p < np; ++p)
            for (int64_t i = 0; i < ni; ++i) o[p * dp + i * di] = convert<D>(x[p * sp + i * si]);
    } else {
        for (int64_t i = 0; i < ni; ++i)
            for (int64_t p = 0; p < np; ++p) o[p * dp + i * di] = convert<D>(x[p * sp + i * si]);
    }
}

template <typename D, typename S>
void copy_transposed(const StridedGeometry<2>& g, const TransposePlan& t, D* out, const S* in) {
    const int64_t n_inner = g.sizes[t.inner], n_partner = g.sizes[t.partner];
    const int64_t tiles_inner = (n_inner + t.b_inner - 1) / t.b_inner;
    const int64_t tiles_partner = (n_partner + t.b_partner - 1) / t.b_partner;
    const int64_t tiles = t.outer_numel * tiles_partner * tiles_inner;
    const int64_t di = g.strides[0][t.inner], si = g.strides[1][t.inner];
    const int64_t dp = g.strides[0][t.partner], sp = g.strides[1][t.partner];
    const int64_t grain = std::max<int64_t>(1, kDefaultGrain / (t.b_inner * t.b_partner));
    parallel_for(0, tiles, grain, [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
            const int64_t ti = k % tiles_inner, tp = (k / tiles_inner) % tiles_partner;
            int64_t o = k / (tiles_inner * tiles_partner);
            int64_t od = 0, os = 0;
            for (int j = t.n_outer - 1; j >= 0; --j) {  // outer index -> offsets, innermost first
                const int d = t.outer[j];
                const int64_t idx = o % g.sizes[d];
                o /= g.sizes[d];
                od += idx * g.strides[0][d];
                os += idx * g.strides[1][d];
            }
            const int64_t i0 = ti * t.b_inner, p0 = tp * t.b_partner;
            const int64_t ni = std::min(t.b_inner, n_inner - i0), np = std::min(t.b_partner, n_partner - p0);
            copy_tile(out + od + i0 * di + p0 * dp, in + os + i0 * si + p0 * sp, ni, np, di, dp, si, sp,
                      t.inner_loop_on_inner);
        }
    });
}

}  // namespace

void copy_cpu(const StridedGeometry<2>& g, DType dst_t, void* dst, DType src_t, const void* src) {
    if (dst_t == src_t && g.contiguous()) {  // plain memcpy, split across threads
        const int64_t es = int64_t(dtype_size(dst_t));
        parallel_for(0, g.numel, kDefaultGrain, [&](int64_t b, int64_t e) {
            std::memcpy(static_cast<char*>(dst) + b * es, static_cast<const char*>(src) + b * es, size_t((e - b) * es));
        });
        return;
    }
    visit_dtype(dst_t, [&](auto dtag) {
        using D = typename decltype(dtag)::type;
        visit_dtype(src_t, [&](auto stag) {
            using S = typename decltype(stag)::type;
            D* out = static_cast<D*>(dst);
            const S* in = static_cast<const S*>(src);
            if (TransposePlan t; plan_transpose(g, t)) return copy_transposed(g, t, out, in);
            if constexpr (kBulkCast<D, S>) {
                if (g.contiguous()) {
                    const bool streaming = g.numel * int64_t(sizeof(D)) >= kStreamingMinBytes;
                    parallel_for(0, g.numel, kDefaultGrain, [&](int64_t b, int64_t e) {
                        bulk_cast(out + b, in + b, e - b, streaming);
                        if (streaming) streaming_fence();
                    });
                    return;
                }
            }
            parallel_for(0, g.numel, kDefaultGrain, [&](int64_t b, int64_t e) {
                for_each_row(g, b, e, [&](const int64_t* off, int64_t n, const int64_t* st) {
                    D* o = out + off[0];
                    const S* x = in + off[1];
                    if (st[0] == 1 && st[1] == 1) {
                        if constexpr (kBulkCast<D, S>)
                            bulk_cast(o, x, n, false);
                        else
                            for (int64_t i = 0; i < n; ++i) o[i] = convert<D>(x[i]);
                    } else {
                        for (int64_t i = 0; i < n; ++i) o[i * st[0]] = convert<D>(x[i * st[1]]);
                    }
                });
            });
        });
    });
}

void fill_cpu(const StridedGeometry<1>& g, DType t, void* dst, double value) {
    visit_dtype(t, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T v = convert<T>(value);
        T* out = static_cast<T*>(dst);
        parallel_for(0, g.numel, kDefaultGrain, [&](int64_t b, int64_t e) {
            for_each_row(g, b, e, [&](const int64_t* off, int64_t n, const int64_t* st) {
                for (int64_t i = 0; i < n; ++i) out[off[0] + i * st[0]] = v;
            });
        });
    });
}

void random_cpu(const StridedGeometry<1>& g, DType t, void* dst, const RandomParams& p) {
    visit_dtype(t, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* out = static_cast<T*>(dst);
        parallel_for(0, g.numel, 4096, [&](int64_t b, int64_t e) {
            int64_t i = b;  // the logical index drives the generator, whatever the layout
            for_each_row(g, b, e, [&](const int64_t* off, int64_t n, const int64_t* st) {
                for (int64_t j = 0; j < n; ++j, ++i) {
                    T v{};
                    switch (p.kind) {
                        case RandomKind::Uniform:
                            v = convert<T>(philox::uniform_scaled(p.seed, p.offset, i, p.a, p.b));
                            break;
                        case RandomKind::Normal:
                            v = convert<T>(philox::normal_scaled(p.seed, p.offset, i, p.a, p.b));
                            break;
                        case RandomKind::Integer:
                            v = convert<T>(philox::randint_at(p.seed, p.offset, i, int64_t(p.a), int64_t(p.b)));
                            break;
                    }
                    out[off[0] + j * st[0]] = v;
                }
            });
        });
    });
}

}  // namespace segcore
