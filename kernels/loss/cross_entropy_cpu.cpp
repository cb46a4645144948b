// CPU reference for the fused cross-entropy and focal loss (kernels/loss/cross_entropy.h).
//
// Work items are (image n, tile of up to kTile pixels). Inside an item the loops run over the
// classes outside and the pixels inside, so every pass reads contiguous pixels of one class plane
// and the inner loops vectorise (exp is vec_math's exp_f32 for f32, libm's for f64):
//   1. m_j = max_c x_cj           2. e_cj = exp(x_cj - m_j), s_j = sum_c e_cj, sx_j = sum_c w_c (x_cj - m_j)
//   3. per pixel: log s, the loss, the gradient coefficients     4. grad_cj = (e_cj / s_j) A_j - ...
// The exponentials of pass 2 stay in a tile buffer (L1) when a gradient is wanted, so the fused
// forward+gradient computes one exp per logit, like the loss alone.
// 16-bit logits are widened once per tile into an f32 buffer; f32/f64 tiles are read in place
// (the second and third passes hit L1: 64 pixels x 19 classes x 4 bytes = 4.75 KiB).
// Each item's (sum loss, sum weight) goes to its own slot in double and the slots are added in
// item order afterwards: the result does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/half.h"
#include "core/parallel.h"
#include "kernels/loss/pixel_loss_cpu.h"
#include "kernels/loss/cross_entropy.h"

namespace segcore::kernels {

using pixel_cpu::exp_acc;
using pixel_cpu::kTile;
using pixel_cpu::max_nan;

template <typename T, typename L, typename S>
void cross_entropy_forward_cpu(const CrossEntropyParams& p, const T* x, const L* labels, const S* weight, S* loss_pix,
                               S* py, T* grad, S* totals, int64_t* bad) {
    using A = acc_t<T>;  // f32 for f32/f16/bf16, f64 for f64
    constexpr bool kWiden = !std::is_same_v<T, A>;
    const int64_t C = p.c, hw = p.hw, total = p.pixels();
    const int64_t tiles = (hw + kTile - 1) / kTile, items = p.n * tiles;
    const A eps = A(p.focal ? 0.0 : p.label_smoothing), eps_c = eps / A(C);
    const A gamma = A(p.gamma);
    A wsum = 0;  // W = sum_c w_c
    for (int64_t c = 0; c < C; ++c) wsum += weight ? A(weight[c]) : A(1);
    std::vector<double> part(size_t(2 * items), 0.0);
    std::vector<int64_t> bad_count(size_t(items), 0), bad_first(size_t(items), total);

    parallel_for(0, items, 16, [&](int64_t ib, int64_t ie) {
        std::vector<A> buf(kWiden ? size_t(C * kTile) : 0);
        std::vector<A> eb(grad ? size_t(C * kTile) : 0);  // exp(x - m) of the tile, reused by the gradient
        A m[kTile], s[kTile], sx[kTile], ls[kTile], ca[kTile], cb[kTile], ce[kTile], gb[kTile], is[kTile];
        int64_t y[kTile];
        A yf[kTile];  // y as A (-1 = ignored): the gradient loop compares in the vector lanes
        for (int64_t item = ib; item < ie; ++item) {
            const int64_t n = item / tiles, j0 = (item % tiles) * kTile, w = std::min(kTile, hw - j0);
            const T* xt = x + n * C * hw + j0;
            // The tile as rows of `stride` elements: in place, or widened to f32 once.
            const A* xa;
            int64_t stride;
            if constexpr (kWiden) {
                for (int64_t c = 0; c < C; ++c)
                    for (int64_t j = 0; j < w; ++j) buf[size_t(c * kTile + j)] = A(xt[c * hw + j]);
                xa = buf.data();
                stride = kTile;
            } else {
                xa = xt;
                stride = hw;
            }
            const int64_t pix0 = n * hw + j0;
            for (int64_t j = 0; j < w; ++j) {
                const int64_t v = int64_t(labels[pix0 + j]);
                const bool valid = v != p.ignore_index && v >= 0 && v < C;
                if (!valid && v != p.ignore_index) {
                    if (bad_count[size_t(item)]++ == 0) bad_first[size_t(item)] = pix0 + j;
                }
                y[j] = valid ? v : -1;
                yf[j] = A(y[j]);
            }
            // 1-2: max, then the sum of exponentials and the weighted sum of the logits.
            for (int64_t j = 0; j < w; ++j) m[j] = xa[j];
            for (int64_t c = 1; c < C; ++c)
                for (int64_t j = 0; j < w; ++j) m[j] = max_nan(m[j], xa[c * stride + j]);
            for (int64_t j = 0; j < w; ++j) s[j] = sx[j] = 0;
            for (int64_t c = 0; c < C; ++c) {
                const A wc = weight ? A(weight[c]) : A(1);
                A* er = grad ? eb.data() + c * kTile : nullptr;
                if (er) {
                    for (int64_t j = 0; j < w; ++j) {
                        const A v = xa[c * stride + j], e = exp_acc<A>(v - m[j]);
                        s[j] += e;
                        er[j] = e;
                        sx[j] += wc * (v - m[j]);
                    }
                } else {
                    for (int64_t j = 0; j < w; ++j) {
                        const A v = xa[c * stride + j];
                        s[j] += exp_acc<A>(v - m[j]);
                        sx[j] += wc * (v - m[j]);
                    }
                }
            }
            // 3: per pixel, the loss and the gradient coefficients grad_c = p_c ca - [c == y] cb - w_c ce.
            double sum_l = 0, sum_w = 0;
            for (int64_t j = 0; j < w; ++j) {
                A l = 0, wt = 0;
                ca[j] = cb[j] = ce[j] = 0;
                ls[j] = std::log(s[j]);
                if (y[j] >= 0) {
                    const A xy = xa[y[j] * stride + j];
                    const A logq = (xy - m[j]) - ls[j];  // PyTorch's (x - max) - log(sum)
                    const A wy = weight ? A(weight[y[j]]) : (p.focal ? A(p.alpha_scalar) : A(1));
                    if (!p.focal) {
                        const A smooth = wsum * ls[j] - sx[j];  // sum_c w_c (-logp_c), relative to the max
                        l = (A(1) - eps) * wy * (-logq) + eps_c * smooth;
                        wt = wy;
                        ca[j] = (A(1) - eps) * wy + eps_c * wsum;
                        cb[j] = (A(1) - eps) * wy;
                        ce[j] = eps_c;
                    } else {
                        const A q = std::exp(logq), omq = -std::expm1(logq);
                        const A pw = std::pow(omq, gamma);
                        l = -wy * pw * logq;
                        wt = 1;
                        const A t2 = (gamma != A(0) && omq > A(0)) ? gamma * q * (pw / omq) * logq : A(0);
                        ca[j] = cb[j] = wy * (pw - t2);
                    }
                    if (py) py[pix0 + j] = S(std::exp(logq));
                } else if (py) {
                    py[pix0 + j] = std::numeric_limits<S>::infinity();
                }
                if (loss_pix) loss_pix[pix0 + j] = S(l);
                sum_l += double(l);
                sum_w += double(wt);
            }
            part[size_t(2 * item)] = sum_l;
            part[size_t(2 * item + 1)] = sum_w;
            // 4: the gradient, p_c = exp(x_c - m) / s from the stored exponentials (no second exp;
            // an ignored pixel has ca = cb = ce = 0).
            if (grad) {
                for (int64_t j = 0; j < w; ++j) is[j] = A(1) / s[j];
                T* gt = grad + n * C * hw + j0;
                for (int64_t c = 0; c < C; ++c) {
                    const A wc = weight && !p.focal ? A(weight[c]) : A(1), cf = A(c);
                    const A* er = eb.data() + c * kTile;
                    T* gr = gt + c * hw;
                    // Into a tile buffer first: the loop then has no stores that may alias, and vectorises.
                    for (int64_t j = 0; j < w; ++j) {
                        const A pc = er[j] * is[j];
                        gb[j] = pc * ca[j] - A(yf[j] == cf) * cb[j] - wc * ce[j];
                    }
                    for (int64_t j = 0; j < w; ++j) gr[j] = T(gb[j]);
                }
            }
        }
    });
    double sl = 0, sw = 0;
    int64_t count = 0, first = total;
    for (int64_t i = 0; i < items; ++i) {
        sl += part[size_t(2 * i)];
        sw += part[size_t(2 * i + 1)];
        count += bad_count[size_t(i)];
        first = std::min(first, bad_first[size_t(i)]);
    }
    totals[kTotalsSumLoss] = S(sl);
    totals[kTotalsSumWeight] = S(sw);
    bad[0] = count;
    bad[1] = count > 0 ? total - first : 0;
}

#define SEGCORE_INSTANTIATE(T, L, S)                                                                                  \
    template void cross_entropy_forward_cpu<T, L, S>(const CrossEntropyParams&, const T*, const L*, const S*, S*, S*, \
                                                     T*, S*, int64_t*);
SEGCORE_PIXEL_LOSS_INSTANTIATE(SEGCORE_INSTANTIATE)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
