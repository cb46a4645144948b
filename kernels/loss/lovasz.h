#pragma once
// Lovász-softmax loss (Berman, Triki, Blaschko, CVPR 2018): a convex surrogate of the Jaccard
// loss (1 - IoU) on softmax probabilities. docs/kernels/lovasz.md has the derivation.
//
// Inputs: logits x (N, C, d...), labels g (N, d...) integer class ids; p = softmax(x) over C.
// The batch is flattened (the reference's per_image = False): over the valid pixels i (label !=
// ignore_index; any other label outside [0, C) is an error naming it), for each counted class c:
//   fg_i = [g_i == c]        e_i = |fg_i - p_ic|
//   sort e descending (ties: lower pixel index first, a stable sort), giving order pi
//   gts = sum fg;  for k = 1..M':  inter_k = gts - sum_{j<=k} fg_pi(j),  union_k = gts + sum_{j<=k} (1 - fg_pi(j))
//   J_k = 1 - inter_k / union_k;   grad_k = J_k - J_{k-1}  (J_0 = 0)   — the Lovász extension's gradient
//   (evaluated in closed form: grad_k = 1 / union_k where fg_pi(k) = 1, else inter_k / (union_{k-1} union_k),
//   which is exact in integers and avoids subtracting two values near 1)
//   loss_c = sum_k e_pi(k) grad_k
// loss = mean over the counted classes K: all classes (c = 0 only with include_background), and
// with present_only (the reference's classes = 'present', the default) only those with gts > 0.
// No valid pixel or an empty K gives loss 0 and a zero gradient.
// Gradient: dL/dp_ic = grad_rank(i) * sign(p_ic - fg_i) / |K| (0 where e = 0, as torch's abs);
// then through the softmax: dx_ic = go * p_ic (q_ic - sum_k p_ik q_ik), q = dL/dp.
// The loss is piecewise linear in p: where errors tie, the gradient depends on the tie order.
//
// Outputs (overwritten, =): loss () in f32 (f64 for f64 logits); when requested, dldp (N, C, d...)
// = q in the same dtype (what backward needs: the sort is not repeated); dx in the logits' dtype.
// Dtypes: logits f32/f64/f16/bf16 on the CPU (16-bit in f32), f32/f16/bf16 on CUDA (f32 math);
// labels i64, i32 or u8. Inputs are made contiguous by ops::.
// CPU: one std::sort per class (parallel over classes). CUDA: per class, the errors are sorted with
// cub::DeviceRadixSort (stable, so deterministic), the foreground flags scanned with
// cub::DeviceScan (integers), and the loss combined from per-block partials in fixed order.
// CUDA limit: fewer than 2^31 pixels per batch (CUB's item count).
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

struct LovaszParams {
    int64_t n = 0, c = 0, hw = 0;
    int64_t ignore_index = 255;
    bool present_only = true;
    bool include_background = true;
};

// T logits, L labels, S = double for T = double else float. dldp may be null (no gradient wanted).
// *bad_index = flat pixel index of the first bad label, or -1 (then nothing else is meaningful).
template <typename T, typename L, typename S>
void lovasz_forward_cpu(const LovaszParams& p, const T* x, const L* labels, S* loss, S* dldp, int64_t* bad_index);
// dx = grad_loss * p (q - sum_c p q) per pixel (the softmax backward of q = dldp).
template <typename T, typename S>
void lovasz_backward_cpu(const LovaszParams& p, const T* x, const S* dldp, S grad_loss, T* dx);

// CUDA: device pointers except bad_index, which is a host int64 (the launcher synchronises once
// to read the per-class counts and the bad-label flag).
template <typename T, typename L>
void lovasz_forward_cuda(const LovaszParams& p, const T* x, const L* labels, float* loss, float* dldp,
                         int64_t* bad_index, Stream s);
template <typename T>
void lovasz_backward_cuda(const LovaszParams& p, const T* x, const float* dldp, const float* grad_loss, T* dx,
                          Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct LovaszOptions {
    int64_t ignore_index = 255;
    bool present_only = true;        // classes = 'present' (the reference's default); false = 'all'
    bool include_background = true;  // class 0 counts
};

struct LovaszResult {
    Tensor loss;  // () f32 (f64 for f64 logits)
    Tensor dldp;  // (N, C, d...) dL/dp when with_grad, else undefined
};

LovaszResult lovasz_softmax(const Tensor& logits, const Tensor& labels, const LovaszOptions& opt = {},
                            bool with_grad = false);
// grad_loss: a scalar on the logits' device; dldp from lovasz_softmax(..., with_grad = true).
Tensor lovasz_softmax_backward(const Tensor& grad_loss, const Tensor& logits, const Tensor& dldp);

}  // namespace segcore::ops
