// CPU reference for the Lovász-softmax loss (kernels/loss/lovasz.h): the reference
// implementation's algorithm, one std::sort per class, classes in parallel. Errors are in the
// accumulation type (f32 for f32/f16/bf16, f64 for f64), the running sums in double. Every class's sort
// uses a strict total order (error descending, then pixel index ascending), so the result does
// not depend on the sort algorithm or the thread count.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "core/parallel.h"
#include "kernels/common/vec_math.h"
#include "kernels/loss/lovasz.h"

namespace segcore::kernels {

namespace {

template <typename A>
inline A exp_acc(A v) {
    if constexpr (std::is_same_v<A, float>) return vec::exp_f32(v);
    else return std::exp(v);
}

// prob[(n * C + c) * hw + j] = softmax over c, in A (f32 for f32/f16/bf16, f64 for f64).
template <typename T, typename A>
void softmax_all(const LovaszParams& p, const T* x, std::vector<A>& prob) {
    prob.assign(size_t(p.n * p.c * p.hw), A(0));
    parallel_for(0, p.n * p.hw, 4096, [&](int64_t b, int64_t e) {
        for (int64_t q = b; q < e; ++q) {
            const int64_t n = q / p.hw, j = q % p.hw;
            const T* px = x + n * p.c * p.hw + j;
            A* pp = prob.data() + n * p.c * p.hw + j;
            A m = A(px[0]);
            for (int64_t c = 1; c < p.c; ++c) m = std::max(m, A(px[c * p.hw]));
            A s = A(0);
            for (int64_t c = 0; c < p.c; ++c) {
                pp[c * p.hw] = exp_acc(A(px[c * p.hw]) - m);
                s += pp[c * p.hw];
            }
            for (int64_t c = 0; c < p.c; ++c) pp[c * p.hw] /= s;
        }
    });
}

}  // namespace

template <typename T, typename L, typename S>
void lovasz_forward_cpu(const LovaszParams& p, const T* x, const L* labels, S* loss, S* dldp, int64_t* bad_index) {
    using A = acc_t<T>;
    const int64_t C = p.c, M = p.n * p.hw;
    *bad_index = -1;
    *loss = S(0);
    if (dldp) std::fill(dldp, dldp + p.n * C * p.hw, S(0));
    // Valid pixels in flat order, and the per-class counts.
    std::vector<int64_t> valid;
    std::vector<int64_t> count(static_cast<size_t>(C), 0);
    for (int64_t q = 0; q < M; ++q) {
        const int64_t l = int64_t(labels[q]);
        if (l == p.ignore_index) continue;
        if (l < 0 || l >= C) {
            *bad_index = q;
            return;
        }
        valid.push_back(q);
        ++count[size_t(l)];
    }
    std::vector<int64_t> classes;
    for (int64_t c = 0; c < C; ++c)
        if ((c > 0 || p.include_background) && (!p.present_only || count[size_t(c)] > 0)) classes.push_back(c);
    if (valid.empty() || classes.empty()) return;
    std::vector<A> prob;
    softmax_all(p, x, prob);
    const int64_t V = int64_t(valid.size()), K = int64_t(classes.size());
    std::vector<double> class_loss(static_cast<size_t>(K), 0.0);
    // Sorting (error, index) items in place is several times faster than sorting an index array
    // with an indirect comparison (no random access into the error array).
    struct Item {
        A e;
        int64_t v;  // position in `valid`
    };
    parallel_for(0, K, 1, [&](int64_t kb, int64_t ke) {
        std::vector<Item> items(static_cast<size_t>(V));
        for (int64_t k = kb; k < ke; ++k) {
            const int64_t c = classes[size_t(k)];
            for (int64_t v = 0; v < V; ++v) {
                const int64_t q = valid[size_t(v)], n = q / p.hw, j = q % p.hw;
                const A pr = prob[size_t((n * C + c) * p.hw + j)];
                items[size_t(v)] = {std::abs((int64_t(labels[q]) == c ? A(1) : A(0)) - pr), v};
            }
            std::sort(items.begin(), items.end(),
                      [](const Item& a, const Item& b) { return a.e > b.e || (a.e == b.e && a.v < b.v); });
            const double gts = double(count[size_t(c)]);
            double cum_fg = 0, lc = 0;
            for (int64_t r = 0; r < V; ++r) {
                const int64_t v = items[size_t(r)].v, q = valid[size_t(v)];
                const bool fg = int64_t(labels[q]) == c;
                const double e = double(items[size_t(r)].e);
                cum_fg += fg ? 1.0 : 0.0;
                // J_r - J_{r-1} in closed form (lovasz.h): no cancellation between two values near 1.
                const double inter = gts - cum_fg, uni = gts + double(r + 1) - cum_fg;
                double grad;
                if (fg) grad = 1.0 / uni;
                else grad = uni > 1.0 ? inter / ((uni - 1.0) * uni) : 1.0;  // uni = 1: r = 0 and gts = 0
                lc += e * grad;
                if (dldp) {
                    const int64_t n = q / p.hw, j = q % p.hw;
                    const double sign = e == 0.0 ? 0.0 : (fg ? -1.0 : 1.0);
                    dldp[(n * C + c) * p.hw + j] = S(grad * sign / double(K));
                }
            }
            class_loss[size_t(k)] = lc;
        }
    });
    double total = 0;
    for (double v : class_loss) total += v;
    *loss = S(total / double(K));
}

template <typename T, typename S>
void lovasz_backward_cpu(const LovaszParams& p, const T* x, const S* dldp, S grad_loss, T* dx) {
    using A = acc_t<T>;
    const int64_t C = p.c;
    parallel_for(0, p.n * p.hw, 4096, [&](int64_t b, int64_t e) {
        for (int64_t q = b; q < e; ++q) {
            const int64_t n = q / p.hw, j = q % p.hw, base = n * C * p.hw + j;
            A m = A(x[base]);
            for (int64_t c = 1; c < C; ++c) m = std::max(m, A(x[base + c * p.hw]));
            A s = A(0);
            for (int64_t c = 0; c < C; ++c) s += std::exp(A(x[base + c * p.hw]) - m);
            A dot = A(0);
            for (int64_t c = 0; c < C; ++c) dot += std::exp(A(x[base + c * p.hw]) - m) / s * A(dldp[base + c * p.hw]);
            for (int64_t c = 0; c < C; ++c) {
                const A pr = std::exp(A(x[base + c * p.hw]) - m) / s;
                dx[base + c * p.hw] = T(A(grad_loss) * pr * (A(dldp[base + c * p.hw]) - dot));
            }
        }
    });
}

#define SEGCORE_INSTANTIATE(T, L, S) \
    template void lovasz_forward_cpu<T, L, S>(const LovaszParams&, const T*, const L*, S*, S*, int64_t*);
#define SEGCORE_INSTANTIATE_T(T, S)                                                                  \
    SEGCORE_INSTANTIATE(T, int64_t, S)                                                               \
    SEGCORE_INSTANTIATE(T, int32_t, S)                                                               \
    SEGCORE_INSTANTIATE(T, uint8_t, S)                                                               \
    template void lovasz_backward_cpu<T, S>(const LovaszParams&, const T*, const S*, S, T*);
SEGCORE_INSTANTIATE_T(float, float)
SEGCORE_INSTANTIATE_T(double, double)
SEGCORE_INSTANTIATE_T(Half, float)
SEGCORE_INSTANTIATE_T(BFloat16, float)
#undef SEGCORE_INSTANTIATE_T
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
