// CPU reference for batch_norm2d (kernels/norm/batch_norm.h). Per channel, in parallel over
// channels (statistics, backward) or planes (apply). Sums run in double through eight fixed lanes
// (deterministic, accurate for the 4M-element channels of a 1024 x 512 batch, and vectorisable);
// per-element arithmetic runs in S (f32 for f32/f16/bf16 input, f64 for f64), like PyTorch's.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/half.h"
#include "core/parallel.h"
#include "kernels/norm/batch_norm.h"

namespace segcore::kernels {

namespace {

// Calls f(plane pointer offset) for each of the N planes of channel c.
template <typename F>
void for_planes(const BatchNormParams& p, int64_t c, F&& f) {
    for (int64_t n = 0; n < p.n; ++n) f((n * p.c + c) * p.hw);
}

// Calls f(std::integral_constant<Act, a>{}) so the activation is a constant inside f's loops (a
// runtime switch per element would keep them from vectorising).
template <typename F>
void with_act(Act a, F&& f) {
    switch (a) {
        case Act::Relu: return f(std::integral_constant<Act, Act::Relu>{});
        case Act::Relu6: return f(std::integral_constant<Act, Act::Relu6>{});
        case Act::None: return f(std::integral_constant<Act, Act::None>{});
    }
}

inline double combine_lanes(const double* lane) {
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// sum_j term(j) for j in [0, n) in double, through eight lanes combined in a fixed order.
template <typename Term>
double lane_sum(int64_t n, Term&& term) {
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int l = 0; l < 8; ++l) lane[l] += double(term(j + l));
    for (; j < n; ++j) lane[j & 7] += double(term(j));
    return combine_lanes(lane);
}

}  // namespace

template <typename T, typename S>
void batch_norm_apply_cpu(const BatchNormParams& p, const T* x, const S* mean, const S* invstd, const S* gamma,
                          const S* beta, T* y) {
    with_act(p.act, [&](auto act) {
        parallel_for(0, p.n * p.c, std::max<int64_t>(1, 32768 / std::max<int64_t>(p.hw, 1)), [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
                const int64_t c = i % p.c;
                // y = x * scale + shift, the per-channel affine form of (x - mean) invstd gamma + beta.
                const double scale_d = double(invstd[c]) * (gamma ? double(gamma[c]) : 1.0);
                const S scale = S(scale_d), shift = S((beta ? double(beta[c]) : 0.0) - double(mean[c]) * scale_d);
                const T* xi = x + i * p.hw;
                T* yi = y + i * p.hw;
                for (int64_t j = 0; j < p.hw; ++j) yi[j] = T(act_forward(act.value, S(xi[j]) * scale + shift));
            }
        });
    });
}

template <typename T, typename S>
void batch_norm_train_forward_cpu(const BatchNormParams& p, const T* x, const S* gamma, const S* beta, T* y,
                                  S* save_mean, S* save_invstd, S* running_mean, S* running_var) {
    const int64_t m = p.n * p.hw;
    parallel_for(0, p.c, 1, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c) {
            double sum = 0;
            for_planes(p, c, [&](int64_t off) { sum += lane_sum(p.hw, [&](int64_t j) { return x[off + j]; }); });
            const double mean = m > 0 ? sum / double(m) : 0.0;
            double ss = 0;  // two-pass variance: no cancellation, unlike E[x^2] - E[x]^2
            for_planes(p, c, [&](int64_t off) {
                ss += lane_sum(p.hw, [&](int64_t j) {
                    const double d = double(x[off + j]) - mean;
                    return d * d;
                });
            });
            const double var = m > 0 ? ss / double(m) : 0.0;
            save_mean[c] = S(mean);
            save_invstd[c] = S(1.0 / std::sqrt(var + p.eps));
            if (running_mean) running_mean[c] = S((1 - p.momentum) * double(running_mean[c]) + p.momentum * mean);
            if (running_var) {
                const double unbiased = m > 1 ? var * double(m) / double(m - 1) : var;
                running_var[c] = S((1 - p.momentum) * double(running_var[c]) + p.momentum * unbiased);
            }
        }
    });
    batch_norm_apply_cpu<T, S>(p, x, save_mean, save_invstd, gamma, beta, y);
}

template <typename T, typename S>
void batch_norm_backward_cpu(const BatchNormParams& p, bool training, const T* dy, const T* x, const S* mean,
                             const S* invstd, const S* gamma, const S* beta, T* dx, S* dgamma, S* dbeta) {
    const int64_t m = p.n * p.hw;
    with_act(p.act, [&](auto act) {
        parallel_for(0, p.c, 1, [&](int64_t cb, int64_t ce) {
            for (int64_t c = cb; c < ce; ++c) {
                const S mu = mean[c], is = invstd[c];
                const S gm = gamma ? gamma[c] : S(1), bt = beta ? beta[c] : S(0);
                // g = dy masked by the activation, evaluated at z = gamma xhat + beta (recomputed from x).
                // dy is loaded unconditionally so the select vectorises.
                const auto xhat_at = [&](int64_t i) { return (S(x[i]) - mu) * is; };
                const auto g_at = [&](int64_t i, S xhat) {
                    const S d = S(dy[i]);
                    return act_passes(act.value, gm * xhat + bt) ? d : S(0);
                };
                // Chunks of g and g * xhat go through small buffers first: a plain loop with the
                // select vectorises, where the select inside the lane sums became branches.
                constexpr int64_t kChunk = 256;
                S gbuf[kChunk], gxbuf[kChunk];
                double sum_g = 0, sum_gx = 0;
                for_planes(p, c, [&](int64_t off) {
                    for (int64_t j0 = 0; j0 < p.hw; j0 += kChunk) {
                        const int64_t len = std::min(kChunk, p.hw - j0);
                        for (int64_t j = 0; j < len; ++j) {
                            const S xh = xhat_at(off + j0 + j), g = g_at(off + j0 + j, xh);
                            gbuf[j] = g;
                            gxbuf[j] = g * xh;
                        }
                        sum_g += lane_sum(len, [&](int64_t j) { return gbuf[j]; });
                        sum_gx += lane_sum(len, [&](int64_t j) { return gxbuf[j]; });
                    }
                });
                if (dgamma) dgamma[c] = S(sum_gx);
                if (dbeta) dbeta[c] = S(sum_g);
                if (!dx) continue;
                // Training: dx = k (g - mean(g) - xhat mean(g xhat)); eval: dx = k g. k = gamma invstd.
                const S k = gm * is;
                const S mg = training && m > 0 ? S(sum_g / double(m)) : S(0);
                const S mgx = training && m > 0 ? S(sum_gx / double(m)) : S(0);
                for_planes(p, c, [&](int64_t off) {
                    for (int64_t j = 0; j < p.hw; ++j) {
                        const S xh = xhat_at(off + j);
                        dx[off + j] = T(k * (g_at(off + j, xh) - mg - xh * mgx));
                    }
                });
            }
        });
    });
}

#define SEGCORE_INSTANTIATE(T, S)                                                                                  \
    template void batch_norm_train_forward_cpu<T, S>(const BatchNormParams&, const T*, const S*, const S*, T*, S*, \
                                                     S*, S*, S*);                                                  \
    template void batch_norm_apply_cpu<T, S>(const BatchNormParams&, const T*, const S*, const S*, const S*,       \
                                             const S*, T*);                                                        \
    template void batch_norm_backward_cpu<T, S>(const BatchNormParams&, bool, const T*, const T*, const S*,        \
                                                const S*, const S*, const S*, T*, S*, S*);
SEGCORE_INSTANTIATE(float, float)
SEGCORE_INSTANTIATE(double, double)
SEGCORE_INSTANTIATE(Half, float)
SEGCORE_INSTANTIATE(BFloat16, float)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
