#pragma once
// What the fused per-pixel losses share (cross-entropy and focal: kernels/loss/cross_entropy.h,
// OHEM: ohem_cross_entropy.h, distillation: kd_loss.h): the reduction, the device-resident totals,
// and the backward, which only rescales the gradient buffer the fused forward wrote.
//
// totals (S[kTotalsSize], S = f32, f64 for f64 logits; overwritten by every forward):
//   [kTotalsSumLoss] sum_i l_i   [kTotalsSumWeight] sum_i weight_i   [kTotalsLoss] the reduced loss
//   [kTotalsScale] 1 / sum weight ("mean"; 0 when that sum is 0) or 1   [kTotalsThreshold] OHEM's threshold
// Backward (every output overwritten):
//   dx[n, c, i] = grad[n, c, i] * totals[kTotalsScale] * up * (masked ? [py[n, i] < totals[kTotalsThreshold]] : 1)
//   up = upstream[0] for "mean"/"sum", upstream[n * hw + i] for "none".
// Shapes: grad, dx (N, C, hw) in the logits' dtype; py and a per-pixel upstream (N * hw) in S.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/host_device.h"
#include "core/stream.h"
#include "core/tensor.h"

namespace segcore {

enum class LossReduction : int32_t { None = 0, Mean = 1, Sum = 2 };
const char* loss_reduction_name(LossReduction r);
LossReduction parse_loss_reduction(const std::string& s);  // "none", "mean", "sum"

}  // namespace segcore

namespace segcore::kernels {

inline constexpr int kTotalsSumLoss = 0, kTotalsSumWeight = 1, kTotalsLoss = 2, kTotalsScale = 3, kTotalsThreshold = 4,
                     kTotalsSize = 5;

// The reduced loss and the backward scale from the two sums.
template <typename S>
SEGCORE_HOST_DEVICE void pixel_loss_finish(LossReduction r, S* totals) {
    const S sl = totals[kTotalsSumLoss], sw = totals[kTotalsSumWeight];
    if (r == LossReduction::Mean) {
        totals[kTotalsLoss] = sw != S(0) ? sl / sw : S(0);
        totals[kTotalsScale] = sw != S(0) ? S(1) / sw : S(0);
    } else {
        totals[kTotalsLoss] = sl;
        totals[kTotalsScale] = S(1);
    }
}

struct PixelLossBackwardParams {
    int64_t n = 0, c = 0, hw = 0;
    bool per_pixel_upstream = false;  // reduction "none"
};

template <typename T, typename S>
void pixel_loss_backward_cpu(const PixelLossBackwardParams& p, const T* grad, const S* totals, const S* upstream,
                             const S* py, T* dx);
template <typename T>
void pixel_loss_backward_cuda(const PixelLossBackwardParams& p, const T* grad, const float* totals,
                              const float* upstream, const float* py, T* dx, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

// A fused loss forward: the loss and what its backward needs.
struct PixelLossResult {
    Tensor loss;    // 0-dim for mean/sum; (N, d...) for none; f32 (f64 for f64 logits)
    Tensor grad;    // unscaled per-pixel gradient buffer (logits' shape and dtype), when wanted
    Tensor totals;  // (kTotalsSize) on the logits' device
    Tensor py;      // OHEM: p_y per pixel, masks the backward; otherwise undefined
    LossReduction reduction = LossReduction::Mean;
};

// dx for upstream gradient `dloss` (the loss's shape) from a PixelLossResult.
Tensor pixel_loss_backward(const Tensor& dloss, const PixelLossResult& r);

namespace loss_detail {
// Checks logits (N, C, d...) against labels (N, d...) (dtype i64/i32/u8, same device) and returns
// {n, c, hw}. `op` names the caller in every message.
struct Geometry {
    int64_t n = 0, c = 0, hw = 0;
};
Geometry check_logits_labels(const char* op, const Tensor& logits, const Tensor& labels);
// Checks a per-class tensor (C) of the loss dtype on the logits' device; returns it contiguous.
Tensor check_class_vector(const char* op, const char* name, const Tensor& t, int64_t c, DType s, Device d);
// Throws when bad = {count, key} (kernels/loss/cross_entropy.h) reports an out-of-range label.
void throw_if_bad_labels(const char* op, const Tensor& bad, const Tensor& labels, int64_t c, int64_t ignore_index);
// The loss dtype for a logits dtype.
inline DType loss_dtype(DType logits) { return logits == DType::F64 ? DType::F64 : DType::F32; }
// Calls f(TypeTag<L>) for the label dtype (i64, i32, u8).
template <typename F>
decltype(auto) visit_label_dtype(DType t, const char* op, F&& f) {
    switch (t) {
        case DType::I64:
            return f(TypeTag<int64_t>{});
        case DType::I32:
            return f(TypeTag<int32_t>{});
        case DType::U8:
            return f(TypeTag<uint8_t>{});
        default:
            break;
    }
    SEGCORE_THROW(op, ": labels must be i64, i32 or u8, got ", dtype_name(t));
}
}  // namespace loss_detail

}  // namespace segcore::ops
