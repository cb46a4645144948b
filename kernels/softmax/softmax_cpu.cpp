// CPU softmax / log_softmax, forward and backward (kernels/softmax/softmax.h).
//
// Work items are (o, tile of up to kTile inner positions): the loops run over c outside and the
// tile inside, so for NCHW logits (dim 1) every pass reads contiguous pixels; for the last dim the
// tile is one position and the c loop is the contiguous one. Parallel over items only, each item
// computed in a fixed order: results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "core/parallel.h"
#include "kernels/softmax/softmax.h"

namespace segcore::kernels {

namespace {

constexpr int64_t kTile = 64;

template <typename Item>
void for_each_tile(const SoftmaxParams& p, Item&& item) {
    const int64_t tiles = (p.inner + kTile - 1) / kTile;
    const int64_t per_item = std::max<int64_t>(1, p.dim_size * std::min(p.inner, kTile));
    parallel_for(0, p.outer * tiles, std::max<int64_t>(1, kDefaultGrain / per_item), [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) {
            const int64_t o = t / tiles, i0 = (t % tiles) * kTile;
            item(o * p.dim_size * p.inner + i0, std::min(kTile, p.inner - i0));
        }
    });
}

}  // namespace

template <typename T>
void softmax_forward_cpu(const SoftmaxParams& p, const T* x, T* y) {
    using A = acc_t<T>;
    const int64_t C = p.dim_size, S = p.inner;
    for_each_tile(p, [&](int64_t base, int64_t w) {
        A m[kTile], s[kTile];
        for (int64_t j = 0; j < w; ++j) m[j] = -std::numeric_limits<A>::infinity();
        for (int64_t c = 0; c < C; ++c) {
            const T* r = x + base + c * S;
            for (int64_t j = 0; j < w; ++j) {
                const A v = A(r[j]);
                m[j] = (v > m[j] || v != v) ? v : m[j];  // a NaN makes the whole column NaN
            }
        }
        for (int64_t j = 0; j < w; ++j) s[j] = A(0);
        // f32/f64 softmax keeps exp(x - m) in y and rescales it: one exp per element, not two.
        // (Not for f16/bf16: y would round the unnormalised value before the rescale.)
        constexpr bool kStoreExp = std::is_same_v<T, A>;
        const bool store_exp = kStoreExp && !p.log;
        for (int64_t c = 0; c < C; ++c) {
            const T* r = x + base + c * S;
            T* yr = y + base + c * S;
            if (store_exp) {
                for (int64_t j = 0; j < w; ++j) {
                    const A e = std::exp(A(r[j]) - m[j]);
                    yr[j] = T(e);
                    s[j] += e;
                }
            } else {
                for (int64_t j = 0; j < w; ++j) s[j] += std::exp(A(r[j]) - m[j]);
            }
        }
        if (p.log) {
            for (int64_t j = 0; j < w; ++j) s[j] = m[j] + std::log(s[j]);  // log-sum-exp
            for (int64_t c = 0; c < C; ++c)
                for (int64_t j = 0; j < w; ++j) y[base + c * S + j] = T(A(A(x[base + c * S + j]) - s[j]));
        } else {
            for (int64_t j = 0; j < w; ++j) s[j] = A(1) / s[j];
            for (int64_t c = 0; c < C; ++c) {
                T* yr = y + base + c * S;
                const T* r = x + base + c * S;
                if (store_exp)
                    for (int64_t j = 0; j < w; ++j) yr[j] = T(A(A(yr[j]) * s[j]));
                else
                    for (int64_t j = 0; j < w; ++j) yr[j] = T(A(std::exp(A(r[j]) - m[j]) * s[j]));
            }
        }
    });
}

template <typename T>
void softmax_backward_cpu(const SoftmaxParams& p, const T* dy, const T* y, T* dx) {
    using A = acc_t<T>;
    const int64_t C = p.dim_size, S = p.inner;
    for_each_tile(p, [&](int64_t base, int64_t w) {
        A s[kTile];
        for (int64_t j = 0; j < w; ++j) s[j] = A(0);
        for (int64_t c = 0; c < C; ++c) {
            const int64_t r = base + c * S;
            for (int64_t j = 0; j < w; ++j) s[j] += p.log ? A(dy[r + j]) : A(dy[r + j]) * A(y[r + j]);
        }
        for (int64_t c = 0; c < C; ++c) {
            const int64_t r = base + c * S;
            for (int64_t j = 0; j < w; ++j) {
                const A g = A(dy[r + j]), v = A(y[r + j]);
                dx[r + j] = T(A(p.log ? g - std::exp(v) * s[j] : v * (g - s[j])));
            }
        }
    });
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
