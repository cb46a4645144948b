#pragma once
// OHEM cross-entropy (online hard example mining; PSPNet / mmseg's OHEMPixelSampler with a
// probability threshold). docs/kernels/cross_entropy.md has the selection algorithm.
//
// For every valid pixel i (label != ignore_index) let q_i = softmax(x_i)[y_i] and l_i = w_y (-log q_i)
// (the cross-entropy of kernels/loss/cross_entropy.h without label smoothing). With V valid pixels
// and kept = min_kept * N (mmseg's batch_kept: min_kept counts per image):
//   k         = min(kept, V - 1)                   (0-based)
//   min_thr   = the k-th smallest q over the valid pixels (0 when V = 0)
//   threshold = max(min_thr, thresh)
//   selected  = { i valid : q_i < threshold }      (strictly less: mmseg's rule)
//   loss      = sum_{selected} l_i / sum_{selected} w_y      (0 when nothing is selected)
//   dx        = [i selected] w_y (p - onehot(y)) / sum_{selected} w_y   (the selection is a constant)
// So with distinct probabilities at most kept pixels are selected when q_(k) >= thresh (exactly k
// of them below it), and every pixel below thresh otherwise; pixels tied with q_(k) are all left
// out. (mmseg then averages over all pixels or all non-ignored pixels; here the mean is over the
// selected pixels, the usual OHEM definition.)
//
// CPU: std::nth_element on the valid q values. CUDA, with no host synchronisation: a three-pass
// radix select on the f32 bits of q (non-negative floats order like their bit patterns): 11, 11
// and 10-bit digits, a 2048-bin histogram per pass (shared-memory integer atomics, then global
// integer atomics: exact counts, order-independent), a one-block scan picks the digit; the first
// pass also counts q < thresh, and when that count exceeds k the threshold is thresh and the later
// passes return at once. Then a masked two-stage sum (pixel_loss.cuh) and the threshold land in
// totals (kernels/loss/pixel_loss.h); backward masks by py < totals[kTotalsThreshold].
// Dtypes: as cross_entropy (q, l, totals in f32; f64 for f64 logits on the CPU).
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/loss/pixel_loss.h"

namespace segcore::kernels {

struct OhemParams {
    int64_t n = 0, c = 0, hw = 0;
    int64_t kept = 0;  // min_kept * N
    double thresh = 0.7;
    int64_t pixels() const { return n * hw; }
};

// py: q_i (+inf for ignored pixels); loss_pix: l_i; labels and weight give w_y. Writes
// totals[kTotalsThreshold], the masked sums and the finished mean.
template <typename S, typename L>
void ohem_select_reduce_cpu(const OhemParams& p, const S* py, const S* loss_pix, const L* labels, const S* weight,
                            S* totals);
template <typename L>
void ohem_select_reduce_cuda(const OhemParams& p, const float* py, const float* loss_pix, const L* labels,
                             const float* weight, float* totals, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct OhemOptions {
    int64_t ignore_index = 255;
    Tensor weight;              // (C) class weights, or undefined
    double thresh = 0.7;        // probability threshold
    int64_t min_kept = 100000;  // per image (mmseg)
    bool check_labels = true;
};

// The loss (0-dim, mean over the selected pixels) and, with want_grad, what backward needs.
PixelLossResult ohem_cross_entropy_fused(const Tensor& logits, const Tensor& labels, const OhemOptions& opt,
                                         bool want_grad);
inline Tensor ohem_cross_entropy(const Tensor& logits, const Tensor& labels, const OhemOptions& opt = {}) {
    return ohem_cross_entropy_fused(logits, labels, opt, false).loss;
}

}  // namespace segcore::ops
