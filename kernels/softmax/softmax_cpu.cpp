// CPU softmax / log_softmax, forward and backward (kernels/softmax/softmax.h).
//
// inner > 1 (NCHW logits over dim 1): work items are (o, tile of up to kTile inner positions); the
// loops run over c outside and the tile inside, so every pass reads contiguous pixels and the
// inner loop vectorises across pixels (exp is kernels/common/vec_math.h's, not libm's scalar call).
// inner == 1 (the last dim): one item per row, the loops run along the contiguous row, and the max
// and sum keep kLanes partial results (a vector's worth) combined in a fixed order at the end.
// Parallel over items only, each item computed in a fixed order: results do not depend on the
// thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "core/parallel.h"
#include "kernels/common/vec_math.h"
#include "kernels/softmax/softmax.h"

namespace segcore::kernels {

namespace {

// 64 pixels x 19 classes x 4 bytes = 4.75 KiB of x per item: the second and third passes over the
// tile hit L1. (128..512 measured the same on the 8x19x256x256 bench.)
constexpr int64_t kTile = 64;
constexpr int64_t kLanes = 8;

// The backward writes f32 dx past the last-level cache with streaming stores, as the elementwise
// kernels do (elementwise_cpu.h): a plain store first reads the line it overwrites (dy, y, dx and
// dx again). The forward is compute-bound at two threads (exp); staging exp(x - m) in a tile
// buffer to stream y measured 10% slower there, so it keeps plain stores and rescales y in cache.
constexpr int64_t kStreamingMinBytes = int64_t(16) << 20;

template <typename T>
bool use_streaming(const SoftmaxParams& p) {
#if defined(__AVX__)
    return std::is_same_v<T, float> && p.outer * p.dim_size * p.inner * int64_t(sizeof(T)) >= kStreamingMinBytes;
#else
    return false;
#endif
}

// dst[j] = src[j] for j < n; streaming for the 32-byte aligned middle when `streaming`.
inline void store_row(float* dst, const float* src, int64_t n, bool streaming) {
    int64_t j = 0;
#if defined(__AVX__)
    if (streaming) {
        for (; j < n && (reinterpret_cast<uintptr_t>(dst + j) & 31u) != 0; ++j) dst[j] = src[j];
        for (; j + 8 <= n; j += 8) _mm256_stream_ps(dst + j, _mm256_loadu_ps(src + j));
    }
#endif
    for (; j < n; ++j) dst[j] = src[j];
}

// Streaming stores are weakly ordered: publish them before the chunk ends.
inline void end_streaming(bool streaming) {
#if defined(__AVX__)
    if (streaming) _mm_sfence();
#endif
}

template <typename A>
inline A exp_acc(A v) {
    if constexpr (std::is_same_v<A, float>)
        return vec::exp_f32(v);
    else
        return std::exp(v);
}

// max that lets a NaN win, so a NaN anywhere makes the whole softmax column NaN.
template <typename A>
inline A max_nan(A m, A v) {
    return (v > m || v != v) ? v : m;
}

// item(base, w): one tile of w <= kTile inner positions starting at element `base`.
template <typename Item>
void for_each_tile(const SoftmaxParams& p, bool streaming, Item&& item) {
    const int64_t tiles = (p.inner + kTile - 1) / kTile;
    const int64_t per_item = std::max<int64_t>(1, p.dim_size * std::min(p.inner, kTile));
    parallel_for(0, p.outer * tiles, std::max<int64_t>(1, kDefaultGrain / per_item), [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
            const int64_t o = t / tiles, i0 = (t % tiles) * kTile;
            item(o * p.dim_size * p.inner + i0, std::min(kTile, p.inner - i0));
        }
        end_streaming(streaming);
    });
}

template <typename Row>
void for_each_softmax_row(const SoftmaxParams& p, Row&& row) {
    parallel_for(0, p.outer, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, p.dim_size)),
                 [&](int64_t b, int64_t e) {
                     for (int64_t o = b; o < e; ++o) row(o * p.dim_size);
                 });
}

// Reductions along a contiguous row in kLanes partial results, combined in a fixed order.
// "unroll 1" keeps GCC from unrolling the lane loop into scalar compare-and-branch code before
// the vectoriser sees it; kept as a loop, it becomes one vector operation per step.
template <typename A, typename T>
A row_max(const T* x, int64_t n) {
    A m[kLanes];
    for (int64_t k = 0; k < kLanes; ++k) m[k] = -std::numeric_limits<A>::infinity();
    int64_t c = 0;
    for (; c + kLanes <= n; c += kLanes) {
#pragma GCC unroll 1
        for (int64_t k = 0; k < kLanes; ++k) m[k] = max_nan(m[k], A(x[c + k]));
    }
    for (; c < n; ++c) m[0] = max_nan(m[0], A(x[c]));
    for (int64_t k = 1; k < kLanes; ++k) m[0] = max_nan(m[0], m[k]);
    return m[0];
}
template <typename A, typename F>
A row_sum(int64_t n, F&& term) {
    A s[kLanes] = {};
    int64_t c = 0;
    for (; c + kLanes <= n; c += kLanes)
        for (int64_t k = 0; k < kLanes; ++k) s[k] += term(c + k);
    for (; c < n; ++c) s[0] += term(c);
    A total = A(0);
    for (int64_t k = 0; k < kLanes; ++k) total += s[k];
    return total;
}

template <typename T>
void softmax_forward_rows(const SoftmaxParams& p, const T* x, T* y) {
    using A = acc_t<T>;
    const int64_t C = p.dim_size;
    // f32/f64 softmax keeps exp(x - m) in y and rescales it: one exp per element, not two.
    // (Not for f16/bf16: y would round the unnormalised value before the rescale.)
    constexpr bool kStoreExp = std::is_same_v<T, A>;
    for_each_softmax_row(p, [&](int64_t base) {
        const T* xr = x + base;
        T* yr = y + base;
        const A m = row_max<A>(xr, C);
        if (p.log) {
            // (x - m) - log(sum), not x - (m + log(sum)): with |m| ~ 1e4 the bracket rounds to f32's
            // spacing there (1e-3) and O(1) outputs lose three digits (PyTorch does the same).
            const A log_sum = std::log(row_sum<A>(C, [&](int64_t c) { return exp_acc(A(xr[c]) - m); }));
            for (int64_t c = 0; c < C; ++c) yr[c] = T(A((A(xr[c]) - m) - log_sum));
        } else if constexpr (kStoreExp) {
            for (int64_t c = 0; c < C; ++c) yr[c] = exp_acc(xr[c] - m);
            const A inv = A(1) / row_sum<A>(C, [&](int64_t c) { return yr[c]; });
            for (int64_t c = 0; c < C; ++c) yr[c] *= inv;
        } else {
            const A inv = A(1) / row_sum<A>(C, [&](int64_t c) { return exp_acc(A(xr[c]) - m); });
            for (int64_t c = 0; c < C; ++c) yr[c] = T(A(exp_acc(A(xr[c]) - m) * inv));
        }
    });
}

template <typename T>
void softmax_forward_tiles(const SoftmaxParams& p, const T* x, T* y) {
    using A = acc_t<T>;
    const int64_t C = p.dim_size, S = p.inner;
    constexpr bool kStoreExp = std::is_same_v<T, A>;  // as in softmax_forward_rows
    for_each_tile(p, false, [&](int64_t base, int64_t w) {
        A m[kTile], s[kTile];
        for (int64_t j = 0; j < w; ++j) m[j] = -std::numeric_limits<A>::infinity();
        for (int64_t c = 0; c < C; ++c) {
            const T* r = x + base + c * S;
            for (int64_t j = 0; j < w; ++j) m[j] = max_nan(m[j], A(r[j]));
        }
        for (int64_t j = 0; j < w; ++j) s[j] = A(0);
        if (p.log) {
            for (int64_t c = 0; c < C; ++c) {
                const T* r = x + base + c * S;
                for (int64_t j = 0; j < w; ++j) s[j] += exp_acc(A(r[j]) - m[j]);
            }
            for (int64_t j = 0; j < w; ++j) s[j] = std::log(s[j]);  // (x - m) - log(sum): see the rows
            for (int64_t c = 0; c < C; ++c) {
                const T* r = x + base + c * S;
                T* yr = y + base + c * S;
                for (int64_t j = 0; j < w; ++j) yr[j] = T(A((A(r[j]) - m[j]) - s[j]));
            }
        } else if constexpr (kStoreExp) {
            for (int64_t c = 0; c < C; ++c) {
                const T* r = x + base + c * S;
                T* yr = y + base + c * S;
                for (int64_t j = 0; j < w; ++j) {
                    const A e = exp_acc(r[j] - m[j]);
                    yr[j] = e;
                    s[j] += e;
                }
            }
            for (int64_t j = 0; j < w; ++j) s[j] = A(1) / s[j];
            for (int64_t c = 0; c < C; ++c) {
                T* yr = y + base + c * S;
                for (int64_t j = 0; j < w; ++j) yr[j] *= s[j];
            }
        } else {
            for (int64_t c = 0; c < C; ++c) {
                const T* r = x + base + c * S;
                for (int64_t j = 0; j < w; ++j) s[j] += exp_acc(A(r[j]) - m[j]);
            }
            for (int64_t j = 0; j < w; ++j) s[j] = A(1) / s[j];
            for (int64_t c = 0; c < C; ++c) {
                const T* r = x + base + c * S;
                T* yr = y + base + c * S;
                for (int64_t j = 0; j < w; ++j) yr[j] = T(A(exp_acc(A(r[j]) - m[j]) * s[j]));
            }
        }
    });
}

template <typename T>
void softmax_backward_rows(const SoftmaxParams& p, const T* dy, const T* y, T* dx) {
    using A = acc_t<T>;
    const int64_t C = p.dim_size;
    for_each_softmax_row(p, [&](int64_t base) {
        const T *g = dy + base, *v = y + base;
        T* d = dx + base;
        if (p.log) {
            const A s = row_sum<A>(C, [&](int64_t c) { return A(g[c]); });
            for (int64_t c = 0; c < C; ++c) d[c] = T(A(A(g[c]) - exp_acc(A(v[c])) * s));
        } else {
            const A s = row_sum<A>(C, [&](int64_t c) { return A(g[c]) * A(v[c]); });
            for (int64_t c = 0; c < C; ++c) d[c] = T(A(A(v[c]) * (A(g[c]) - s)));
        }
    });
}

template <typename T>
void softmax_backward_tiles(const SoftmaxParams& p, const T* dy, const T* y, T* dx) {
    using A = acc_t<T>;
    const int64_t C = p.dim_size, S = p.inner;
    const bool streaming = use_streaming<T>(p);
    for_each_tile(p, streaming, [&](int64_t base, int64_t w) {
        A s[kTile];
        for (int64_t j = 0; j < w; ++j) s[j] = A(0);
        for (int64_t c = 0; c < C; ++c) {
            const int64_t r = base + c * S;
            if (p.log)
                for (int64_t j = 0; j < w; ++j) s[j] += A(dy[r + j]);
            else
                for (int64_t j = 0; j < w; ++j) s[j] += A(dy[r + j]) * A(y[r + j]);
        }
        for (int64_t c = 0; c < C; ++c) {
            const int64_t r = base + c * S;
            A d[kTile];
            if (p.log)
                for (int64_t j = 0; j < w; ++j) d[j] = A(dy[r + j]) - exp_acc(A(y[r + j])) * s[j];
            else
                for (int64_t j = 0; j < w; ++j) d[j] = A(y[r + j]) * (A(dy[r + j]) - s[j]);
            if constexpr (std::is_same_v<T, float>) {
                store_row(dx + r, d, w, streaming);
            } else {
                for (int64_t j = 0; j < w; ++j) dx[r + j] = T(d[j]);
            }
        }
    });
}

}  // namespace

template <typename T>
void softmax_forward_cpu(const SoftmaxParams& p, const T* x, T* y) {
    if (p.inner == 1)
        softmax_forward_rows(p, x, y);
    else
        softmax_forward_tiles(p, x, y);
}

template <typename T>
void softmax_backward_cpu(const SoftmaxParams& p, const T* dy, const T* y, T* dx) {
    if (p.inner == 1)
        softmax_backward_rows(p, dy, y, dx);
    else
        softmax_backward_tiles(p, dy, y, dx);
}

#define SEGCORE_SOFTMAX_CPU(T)                                                            \
    template void softmax_forward_cpu<T>(const SoftmaxParams&, const T*, T*);             \
    template void softmax_backward_cpu<T>(const SoftmaxParams&, const T*, const T*, T*);
SEGCORE_SOFTMAX_CPU(float)
SEGCORE_SOFTMAX_CPU(double)
SEGCORE_SOFTMAX_CPU(Half)
SEGCORE_SOFTMAX_CPU(BFloat16)
#undef SEGCORE_SOFTMAX_CPU

}  // namespace segcore::kernels
