// CPU reference for batch_norm2d (kernels/norm/batch_norm.h). Per channel, in parallel over
// channels; every sum runs in double in a fixed order (deterministic, and accurate for the
// 4M-element channels of a 1024 x 512 batch).
#include <cmath>

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

}  // namespace

template <typename T, typename S>
void batch_norm_apply_cpu(const BatchNormParams& p, const T* x, const S* mean, const S* invstd, const S* gamma,
                          const S* beta, T* y) {
    parallel_for(0, p.n * p.c, std::max<int64_t>(1, 32768 / std::max<int64_t>(p.hw, 1)), [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            const int64_t c = i % p.c;
            // y = x * scale + shift, the per-channel affine form of (x - mean) invstd gamma + beta.
            const double scale = double(invstd[c]) * (gamma ? double(gamma[c]) : 1.0);
            const double shift = (beta ? double(beta[c]) : 0.0) - double(mean[c]) * scale;
            const T* xi = x + i * p.hw;
            T* yi = y + i * p.hw;
            for (int64_t j = 0; j < p.hw; ++j) yi[j] = T(act_forward(p.act, double(xi[j]) * scale + shift));
        }
    });
}

template <typename T, typename S>
void batch_norm_train_forward_cpu(const BatchNormParams& p, const T* x, const S* gamma, const S* beta, T* y,
                                  S* save_mean, S* save_invstd, S* running_mean, S* running_var) {
    const int64_t m = p.n * p.hw;
    parallel_for(0, p.c, 1, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c) {
            double sum = 0;
            for_planes(p, c, [&](int64_t off) {
                for (int64_t j = 0; j < p.hw; ++j) sum += double(x[off + j]);
            });
            const double mean = m > 0 ? sum / double(m) : 0.0;
            double ss = 0;  // two-pass variance: no cancellation, unlike E[x^2] - E[x]^2
            for_planes(p, c, [&](int64_t off) {
                for (int64_t j = 0; j < p.hw; ++j) {
                    const double d = double(x[off + j]) - mean;
                    ss += d * d;
                }
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
    parallel_for(0, p.c, 1, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c) {
            const double mu = double(mean[c]), is = double(invstd[c]);
            const double gm = gamma ? double(gamma[c]) : 1.0, bt = beta ? double(beta[c]) : 0.0;
            // g = dy masked by the activation, evaluated at z = gamma xhat + beta (recomputed from x).
            const auto g_at = [&](int64_t i, double& xhat) {
                xhat = (double(x[i]) - mu) * is;
                return act_passes(p.act, gm * xhat + bt) ? double(dy[i]) : 0.0;
            };
            double sum_g = 0, sum_gx = 0;
            for_planes(p, c, [&](int64_t off) {
                for (int64_t j = 0; j < p.hw; ++j) {
                    double xhat;
                    const double g = g_at(off + j, xhat);
                    sum_g += g;
                    sum_gx += g * xhat;
                }
            });
            if (dgamma) dgamma[c] = S(sum_gx);
            if (dbeta) dbeta[c] = S(sum_g);
            if (!dx) continue;
            const double k = gm * is;
            for_planes(p, c, [&](int64_t off) {
                for (int64_t j = 0; j < p.hw; ++j) {
                    double xhat;
                    const double g = g_at(off + j, xhat);
                    dx[off + j] = training ? T(k / double(m) * (double(m) * g - sum_g - xhat * sum_gx)) : T(k * g);
                }
            });
        }
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
