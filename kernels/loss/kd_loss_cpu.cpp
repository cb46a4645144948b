// CPU reference for the distillation loss (kernels/loss/kd_loss.h). Same organisation as
// cross_entropy_cpu.cpp: items of (image, tile of pixels), classes outside and pixels inside, the
// tile widened to f32 once for 16-bit inputs, per-item sums in double added in item order.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/half.h"
#include "core/parallel.h"
#include "kernels/loss/pixel_loss_cpu.h"
#include "kernels/loss/kd_loss.h"

namespace segcore::kernels {

using pixel_cpu::exp_acc;
using pixel_cpu::kTile;
using pixel_cpu::max_nan;

template <typename T, typename L, typename S>
void kd_loss_forward_cpu(const KdParams& p, const T* s, const T* t, const L* labels, S* loss_pix, T* grad, S* totals) {
    using A = acc_t<T>;
    const int64_t C = p.c, hw = p.hw;
    const int64_t tiles = (hw + kTile - 1) / kTile, items = p.n * tiles;
    const A temp = A(p.temperature), t2 = temp * temp;
    std::vector<double> part(size_t(2 * items), 0.0);
    parallel_for(0, items, 16, [&](int64_t ib, int64_t ie) {
        std::vector<A> a(size_t(C * kTile)), b(size_t(C * kTile));  // s / T and t / T for the tile
        A ma[kTile], mb[kTile], la[kTile], lb[kTile], kl[kTile];
        bool valid[kTile];
        for (int64_t item = ib; item < ie; ++item) {
            const int64_t n = item / tiles, j0 = (item % tiles) * kTile, w = std::min(kTile, hw - j0);
            const int64_t base = n * C * hw + j0, pix0 = n * hw + j0;
            for (int64_t c = 0; c < C; ++c)
                for (int64_t j = 0; j < w; ++j) {
                    a[size_t(c * kTile + j)] = A(s[base + c * hw + j]) / temp;
                    b[size_t(c * kTile + j)] = A(t[base + c * hw + j]) / temp;
                }
            for (int64_t j = 0; j < w; ++j) {
                valid[j] = !labels || int64_t(labels[pix0 + j]) != p.ignore_index;
                ma[j] = a[size_t(j)];
                mb[j] = b[size_t(j)];
                la[j] = lb[j] = kl[j] = 0;
            }
            for (int64_t c = 1; c < C; ++c)
                for (int64_t j = 0; j < w; ++j) {
                    ma[j] = max_nan(ma[j], a[size_t(c * kTile + j)]);
                    mb[j] = max_nan(mb[j], b[size_t(c * kTile + j)]);
                }
            for (int64_t c = 0; c < C; ++c)
                for (int64_t j = 0; j < w; ++j) {
                    la[j] += exp_acc<A>(a[size_t(c * kTile + j)] - ma[j]);
                    lb[j] += exp_acc<A>(b[size_t(c * kTile + j)] - mb[j]);
                }
            for (int64_t j = 0; j < w; ++j) {
                la[j] = std::log(la[j]);
                lb[j] = std::log(lb[j]);
            }
            // KL and gradient: log p = (a - ma) - la, log q = (b - mb) - lb.
            for (int64_t c = 0; c < C; ++c)
                for (int64_t j = 0; j < w; ++j) {
                    const A logp = (a[size_t(c * kTile + j)] - ma[j]) - la[j];
                    const A logq = (b[size_t(c * kTile + j)] - mb[j]) - lb[j];
                    const A q = exp_acc<A>(logq);
                    kl[j] += q > A(0) ? q * (logq - logp) : A(0);
                    if (grad) grad[base + c * hw + j] = valid[j] ? T(temp * (exp_acc<A>(logp) - q)) : T(0);
                }
            double sl = 0, sw = 0;
            for (int64_t j = 0; j < w; ++j) {
                const A l = valid[j] ? t2 * kl[j] : A(0);
                if (loss_pix) loss_pix[pix0 + j] = S(l);
                sl += double(l);
                sw += valid[j] ? 1.0 : 0.0;
            }
            part[size_t(2 * item)] = sl;
            part[size_t(2 * item + 1)] = sw;
        }
    });
    double sl = 0, sw = 0;
    for (int64_t i = 0; i < items; ++i) {
        sl += part[size_t(2 * i)];
        sw += part[size_t(2 * i + 1)];
    }
    totals[kTotalsSumLoss] = S(sl);
    totals[kTotalsSumWeight] = S(sw);
}

#define SEGCORE_INSTANTIATE(T, L, S) \
    template void kd_loss_forward_cpu<T, L, S>(const KdParams&, const T*, const T*, const L*, S*, T*, S*);
SEGCORE_PIXEL_LOSS_INSTANTIATE(SEGCORE_INSTANTIATE)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
