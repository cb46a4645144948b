#pragma once
// Knowledge distillation loss (Hinton et al.), per pixel over the classes, fused forward and
// gradient like kernels/loss/cross_entropy.h. docs/kernels/cross_entropy.md has the derivation.
//
// Student logits s and teacher logits t, both (N, C, d...), temperature T > 0. Per pixel i:
//   p = softmax(s / T), q = softmax(t / T)  (over C)
//   l_i = T^2 KL(q || p) = T^2 sum_c q_c (log q_c - log p_c)     (a term with q_c = 0 counts 0)
//   dl_i/ds_c = T (p_c - q_c)                                       (the teacher is a constant)
// = PyTorch's F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="none").sum(1) * T^2.
// Optional labels (N, d...): pixels whose label equals ignore_index are left out (l = 0, weight 0,
// zero gradient); other label values are not checked (they only mask). Reductions: "mean" over
// the counted pixels (the per-pixel mean of the KL, not kl_div's "batchmean"), "sum", "none".
// Outputs (overwritten): loss_pix (N*hw, "none"), grad (s's shape and dtype, optional), totals.
// Dtypes: s and t of one dtype: f32/f64/f16/bf16 on the CPU, f32/f16/bf16 on CUDA (f32 math);
// labels i64/i32/u8; losses f32 (f64 for f64). CUDA: one thread per pixel, two online
// max / sum-exp loops in one pass over both tensors, then a second loop (L1/L2) for the KL and the
// gradient; block partials + an ordered second stage (deterministic).
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/loss/pixel_loss.h"

namespace segcore::kernels {

struct KdParams {
    int64_t n = 0, c = 0, hw = 0;
    double temperature = 1.0;
    int64_t ignore_index = 255;
    int64_t pixels() const { return n * hw; }
};

// labels may be null (every pixel counts).
template <typename T, typename L, typename S>
void kd_loss_forward_cpu(const KdParams& p, const T* s, const T* t, const L* labels, S* loss_pix, T* grad, S* totals);
template <typename T, typename L>
void kd_loss_forward_cuda(const KdParams& p, const T* s, const T* t, const L* labels, float* loss_pix, T* grad,
                          float* totals, LossReduction reduction, Stream st);

}  // namespace segcore::kernels

namespace segcore::ops {

struct KdLossOptions {
    double temperature = 1.0;
    int64_t ignore_index = 255;  // with labels
    LossReduction reduction = LossReduction::Mean;
};

// labels: undefined, or (N, d...) integer labels used as an ignore mask.
PixelLossResult kd_loss_fused(const Tensor& student, const Tensor& teacher, const Tensor& labels,
                              const KdLossOptions& opt, bool want_grad);
inline Tensor kd_loss(const Tensor& student, const Tensor& teacher, const Tensor& labels = {},
                      const KdLossOptions& opt = {}) {
    return kd_loss_fused(student, teacher, labels, opt, false).loss;
}

}  // namespace segcore::ops
