#pragma once
// Fused softmax cross-entropy and softmax focal loss for segmentation logits: ONE pass over the
// logits computes the per-pixel loss and (when a gradient is wanted) the per-pixel gradient, which
// the forward stores in a buffer that the backward only rescales. docs/kernels/cross_entropy.md
// has the derivations, the naive loops and the CUDA organisation.
//
// Inputs: logits x (N, C, d...) (usually (N, C, H, W); hw = product of d...), labels y (N, d...)
// integer class ids. Per valid pixel i (y_i != ignore_index), with lse = log sum_c exp(x_c) and
// logp_c = x_c - lse, p_c = exp(logp_c), w the class weights (all 1 when absent), W = sum_c w_c,
// eps the label smoothing:
//   cross-entropy (PyTorch's F.cross_entropy with weight / ignore_index / label_smoothing):
//     l_i  = (1 - eps) w_y (-logp_y) + (eps / C) sum_c w_c (-logp_c)         weight_i = w_y
//     dl_i/dx_c = p_c ((1 - eps) w_y + (eps / C) W) - (1 - eps) w_y [c == y] - (eps / C) w_c
//   focal (Lin et al.; alpha per class or one scalar, gamma >= 0; q = p_y):
//     l_i  = -alpha_y (1 - q)^gamma logp_y                                    weight_i = 1
//     dl_i/dx_c = alpha_y ((1 - q)^gamma - gamma q (1 - q)^(gamma - 1) logp_y) (p_c - [c == y])
//   (gamma = 0 and alpha = 1 is plain cross-entropy.)
// An ignored pixel has l_i = 0, weight_i = 0 and a zero gradient.
// Reductions: "mean" = sum_i l_i / sum_i weight_i (PyTorch's weighted mean; 0, not NaN, when every
// pixel is ignored or the weights sum to 0), "sum" = sum_i l_i, "none" = l_i per pixel (N, d...).
// The gradient buffer holds dl_i/dx unscaled; backward computes
//   dx = buffer * scale * upstream      (scale = 1 / sum weight_i for "mean", else 1; upstream is a
//                                        scalar, or per pixel for "none")
// with scale kept on the device (no host synchronisation).
//
// Labels outside [0, C) that are not ignore_index are treated as ignored by the kernels, counted,
// and the position of the first one recorded in bad[2] = {count, key} (key = total - first flat
// index, 0 = none; CUDA uses integer atomics, which are order-independent). ops:: turns a nonzero
// count into an error naming the value, its position and the count: on CUDA this reads 16 bytes
// back (one host synchronisation); check_labels = false skips it (bad labels then count as
// ignored, silently).
//
// Outputs (all overwritten, =): loss_pix (N*hw, "none" only), py (N*hw: p_y, +inf for an ignored
// pixel; OHEM's selection key, optional), grad (logits' shape and dtype, optional), totals
// [sum l, sum weight] and the scalar results through loss_reduce_finish (kernels/loss/pixel_loss.h).
// Dtypes: logits f32/f64/f16/bf16 on the CPU (16-bit read as-is, computed in f32), f32/f16/bf16 on
// CUDA; labels i64, i32 or u8; weight/alpha and every loss f32 (f64 for f64 logits). Inputs are
// made contiguous by ops::. Deterministic: fixed chunks combined in order (CPU, in double); per-block
// tree partials combined in block order by a second kernel (CUDA); no float atomics.
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/loss/pixel_loss.h"

namespace segcore::kernels {

struct CrossEntropyParams {
    int64_t n = 0, c = 0, hw = 0;
    int64_t ignore_index = 255;
    double label_smoothing = 0.0;  // cross-entropy only
    bool focal = false;
    double gamma = 2.0;         // focal
    double alpha_scalar = 1.0;  // focal, when no per-class alpha is given
    int64_t pixels() const { return n * hw; }
};

// weight: per-class weights (C) for cross-entropy, per-class alpha for focal; null = all 1 /
// alpha_scalar. Any of loss_pix, py, grad may be null. totals[2] and bad[2] are always written.
template <typename T, typename L, typename S>
void cross_entropy_forward_cpu(const CrossEntropyParams& p, const T* x, const L* labels, const S* weight, S* loss_pix,
                               S* py, T* grad, S* totals, int64_t* bad);
// CUDA: also reduces (two stages) and finishes totals for `reduction` on the device.
template <typename T, typename L>
void cross_entropy_forward_cuda(const CrossEntropyParams& p, const T* x, const L* labels, const float* weight,
                                float* loss_pix, float* py, T* grad, float* totals, int64_t* bad,
                                LossReduction reduction, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct CrossEntropyOptions {
    int64_t ignore_index = 255;
    Tensor weight;  // (C) f32 (f64 for f64 logits), or undefined
    double label_smoothing = 0.0;
    LossReduction reduction = LossReduction::Mean;
    bool check_labels = true;  // CUDA: one 16-byte read-back per call (see above)
};

struct FocalLossOptions {
    int64_t ignore_index = 255;
    Tensor alpha;  // (C) per-class alpha, or undefined: alpha_scalar for every class
    double alpha_scalar = 1.0;
    double gamma = 2.0;
    LossReduction reduction = LossReduction::Mean;  // mean over the non-ignored pixels
    bool check_labels = true;
};

// The loss (0-dim for mean/sum, (N, d...) for none) and, with want_grad, what backward needs.
PixelLossResult cross_entropy_fused(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& opt,
                                    bool want_grad);
PixelLossResult focal_loss_fused(const Tensor& logits, const Tensor& labels, const FocalLossOptions& opt,
                                 bool want_grad);
inline Tensor cross_entropy(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& opt = {}) {
    return cross_entropy_fused(logits, labels, opt, false).loss;
}
inline Tensor focal_loss(const Tensor& logits, const Tensor& labels, const FocalLossOptions& opt = {}) {
    return focal_loss_fused(logits, labels, opt, false).loss;
}

}  // namespace segcore::ops
