#pragma once
// Soft Dice, Generalised Dice and Tversky losses on softmax probabilities: one kernel pair
// parameterised by the formula. docs/kernels/dice.md has the derivation.
//
// Inputs: logits x (N, C, d...) (usually (N, C, H, W)), labels g (N, d...) integer class ids.
// p = softmax(x) over C is computed on the fly (never stored). A pixel whose label equals
// ignore_index contributes nothing: not to intersections, not to cardinalities, and its gradient
// is 0. Any other label outside [0, C) is an error naming the value and its position.
//
// Per-class sums over every valid pixel i of the batch (g_ic = [label_i == c]):
//   I_c = sum_i p_ic g_ic      P_c = sum_i p_ic      G_c = sum_i g_ic
// The classes that count, K: every c (c = 0 only with include_background), and with present_only
// only those with G_c > 0 (with soft probabilities P_c > 0 always, so "absent" means absent from
// the ground truth of the batch).
//   Dice             d_c = (2 I_c + s) / (P_c + G_c + s)             loss = 1 - mean_{c in K} d_c
//   Tversky          t_c = (I_c + s) / (I_c + alpha (P_c - I_c) + beta (G_c - I_c) + s)
//                    (alpha weighs false positives, beta false negatives; 0.5/0.5 is Dice when s = 0)
//                                                                    loss = 1 - mean_{c in K} t_c
//   Generalised Dice w_c = 1 / max(G_c, weight_clamp)^2 (the clamp keeps absent classes finite)
//                    loss = 1 - (2 sum_K w_c I_c + s) / (sum_K w_c (P_c + G_c) + s)
// A ratio whose denominator is 0 (only possible with s = 0) counts as 1 (empty against empty);
// an empty K gives loss 0 and a zero gradient.
//
// Backward: every formula has dL/dp_ic = a_c g_ic + b_c for a valid pixel (a_c, b_c from the sums,
// see dice_finish), then through the softmax: dx_ic = go * p_ic (q_ic - sum_k p_ik q_ik), q = dL/dp.
//
// Outputs (all overwritten, =): loss () and stats (3, C) holding rows I, P, G, in f32 (f64 for f64
// logits; a 16-bit input never holds a sum). dx in the logits' dtype.
// Dtypes: logits f32/f64/f16/bf16 on the CPU (16-bit computed in f32; sums in double), f32/f16/bf16
// on CUDA (f32 math and sums); labels i64, i32 or u8. Inputs are made contiguous by ops::.
// Deterministic: fixed chunks combined in order on the CPU; on CUDA per-(block, class) partials
// (warp-shuffle trees, no float atomics) combined in block order by a second kernel.
#include <cstdint>

#include "core/host_device.h"
#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

enum class DiceVariant : int32_t { Dice = 0, Generalized = 1, Tversky = 2 };
const char* dice_variant_name(DiceVariant v);

struct DiceParams {
    int64_t n = 0, c = 0, hw = 0;  // hw = product of the spatial dims
    int64_t ignore_index = 255;
    DiceVariant variant = DiceVariant::Dice;
    double smooth = 1.0;
    double alpha = 0.5, beta = 0.5;  // Tversky
    double weight_clamp = 1.0;       // Generalised Dice
    bool include_background = true;
    bool present_only = false;
    int64_t pixels() const { return n * hw; }
};

// Loss from the sums stats = [I (C), P (C), G (C)]; when coef is not null, also writes the
// per-class coefficients coef[c] = a_c, coef[C + c] = b_c of dL/dp_ic = a_c g_ic + b_c.
// Shared by the CPU and CUDA paths (A = double on the CPU, float on the device).
template <typename A>
SEGCORE_HOST_DEVICE A dice_finish(const DiceParams& p, const A* stats, A* coef) {
    const int64_t C = p.c;
    const A* I = stats;
    const A* P = stats + C;
    const A* G = stats + 2 * C;
    const A s = A(p.smooth);
    const auto counts = [&](int64_t c) {
        return (c > 0 || p.include_background) && (!p.present_only || G[c] > A(0));
    };
    int64_t k = 0;
    for (int64_t c = 0; c < C; ++c) k += counts(c) ? 1 : 0;
    if (coef)
        for (int64_t c = 0; c < 2 * C; ++c) coef[c] = A(0);
    if (k == 0) return A(0);
    const A inv_k = A(1) / A(k);
    A loss = A(0);
    if (p.variant == DiceVariant::Generalized) {
        A num = s, den = s;
        for (int64_t c = 0; c < C; ++c) {
            if (!counts(c)) continue;
            const A gc = G[c] > A(p.weight_clamp) ? G[c] : A(p.weight_clamp);
            const A w = A(1) / (gc * gc);
            num += A(2) * w * I[c];
            den += w * (P[c] + G[c]);
        }
        if (den == A(0)) return A(0);
        loss = A(1) - num / den;
        if (coef)
            for (int64_t c = 0; c < C; ++c) {
                if (!counts(c)) continue;
                const A gc = G[c] > A(p.weight_clamp) ? G[c] : A(p.weight_clamp);
                const A w = A(1) / (gc * gc);
                coef[c] = -A(2) * w / den;
                coef[C + c] = num * w / (den * den);
            }
        return loss;
    }
    for (int64_t c = 0; c < C; ++c) {
        if (!counts(c)) continue;
        if (p.variant == DiceVariant::Dice) {
            const A num = A(2) * I[c] + s, den = P[c] + G[c] + s;
            if (den == A(0)) continue;  // ratio 1: adds 0 to the loss, no gradient
            loss += (A(1) - num / den) * inv_k;
            if (coef) {
                coef[c] = -A(2) * inv_k / den;
                coef[C + c] = num * inv_k / (den * den);
            }
        } else {
            const A al = A(p.alpha), be = A(p.beta);
            const A num = I[c] + s;
            const A den = I[c] + al * (P[c] - I[c]) + be * (G[c] - I[c]) + s;
            if (den == A(0)) continue;
            loss += (A(1) - num / den) * inv_k;
            if (coef) {
                coef[c] = -(den - num * (A(1) - al - be)) * inv_k / (den * den);
                coef[C + c] = num * al * inv_k / (den * den);
            }
        }
    }
    return loss;
}

// T: logits element type; L: label type (int64_t, int32_t, uint8_t); S: stats type (double for
// T = double, else float).
// Forward: stats (3 * C) and *loss; *bad_index = flat pixel index of the first label outside
// [0, C) that is not ignore_index, or -1.
template <typename T, typename L, typename S>
void dice_forward_cpu(const DiceParams& p, const T* x, const L* labels, S* stats, S* loss, int64_t* bad_index);
// dx = grad_loss * d loss / dx (overwritten), from the forward's stats.
template <typename T, typename L, typename S>
void dice_backward_cpu(const DiceParams& p, const T* x, const L* labels, const S* stats, S grad_loss, T* dx);

// CUDA: stats, loss, bad_index are device pointers (bad_index: one int64, written -1 or the
// smallest bad flat index); grad_loss is a device scalar (read in the kernel: no sync).
template <typename T, typename L>
void dice_forward_cuda(const DiceParams& p, const T* x, const L* labels, float* stats, float* loss,
                       int64_t* bad_index, Stream s);
template <typename T, typename L>
void dice_backward_cuda(const DiceParams& p, const T* x, const L* labels, const float* stats, const float* grad_loss,
                        T* dx, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct DiceLossOptions {
    kernels::DiceVariant variant = kernels::DiceVariant::Dice;
    int64_t ignore_index = 255;
    // Smoothing s; negative = the variant's default: 1 for Dice and Tversky, 1e-5 for Generalised
    // Dice (whose weighted sums are O(1 / pixels), so s = 1 would swamp them).
    double smooth = -1.0;
    double alpha = 0.5, beta = 0.5;  // Tversky: weight of false positives, of false negatives
    double weight_clamp = 1.0;       // Generalised Dice: w_c = 1 / max(G_c, weight_clamp)^2
    bool include_background = true;  // class 0 counts
    bool present_only = false;       // only classes present in the batch's (non-ignored) labels
    double resolved_smooth() const {
        return smooth >= 0 ? smooth : (variant == kernels::DiceVariant::Generalized ? 1e-5 : 1.0);
    }
};

struct DiceLossResult {
    Tensor loss;   // () f32 (f64 for f64 logits)
    Tensor stats;  // (3, C): rows I, P, G (per-class dice for logging: (2I + s) / (P + G + s))
};

// logits (N, C, d...) floating, labels (N, d...) i64/i32/u8 on the same device.
DiceLossResult dice_loss(const Tensor& logits, const Tensor& labels, const DiceLossOptions& opt = {});
// grad_loss: a scalar on the logits' device (the loss dtype). Returns dx, the logits' dtype.
Tensor dice_loss_backward(const Tensor& grad_loss, const Tensor& logits, const Tensor& labels, const Tensor& stats,
                          const DiceLossOptions& opt = {});

}  // namespace segcore::ops
