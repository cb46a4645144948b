#pragma once
// Confusion-matrix update for segmentation evaluation, with the argmax over classes fused in.
// docs/kernels/confusion.md has the derivation and the CUDA organisation; docs/metrics.md the
// metrics computed from the matrix (seg/metrics/metrics.h).
//
// Math, for every pixel (n, h, w):
//   t = target[n, h, w]
//   p = argmax_k logits[n, k, h, w]        (logits input: first maximal k; a NaN counts as the
//                                             maximum and the first NaN wins, as ops::argmax and
//                                             PyTorch's argmax)
//     or p = pred[n, h, w]                 (predicted-label input)
//   if t != ignore_index:  conf[t, p] += 1  (rows = ground truth, columns = prediction)
//
// Shapes: logits (N, C, H, W) or pred (N, H, W); target (N, H, W); conf (C, C), C = num_classes
// (the logits' dim 1 must equal C). Any (N, C, ...) / (N, ...) with equal trailing dims works:
// H * W is flattened. Non-contiguous inputs are made contiguous by the op.
// Dtypes: logits f32, f64, f16, bf16 on the CPU and f32, f16, bf16 on CUDA (the comparison runs in
// the input's precision widened to f32, f64 staying f64: widening is exact, so no rounding enters
// the argmax); pred and target i64, i32 or u8 (independently); conf i64.
// Output: conf is ACCUMULATED (+=) in place, on the inputs' device, with no host round trip, so
// one matrix collects a whole evaluation. Integer counts: the result is exact and deterministic
// on both backends (integer atomics commute), and CUDA equals the CPU bit for bit.
//
// Invalid labels. A target t that is not ignore_index and not in [0, C), or a predicted label p
// (pred input) outside [0, C) at a pixel whose target is not ignored, is never counted. What else
// happens is chosen by ConfusionOptions::check_labels:
//   true (default): the op throws, naming the value, its pixel and how many pixels were invalid.
//     The matrix is then left with the valid pixels of this batch added. On CUDA the check costs
//     one stream synchronisation per call (a 32-byte status read back from the device).
//   false: no check and no synchronisation; invalid pixels are skipped. Pass a `status` tensor to
//     count them on the device anyway (seg::MetricAccumulator does, and reports at compute()).
// The ignore test happens first: a pixel whose target equals ignore_index is skipped whatever its
// prediction is; with C = 256 and ignore_index 255, class 255 is ignored (use ignore_index -1).
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

struct ConfusionParams {
    int64_t n = 0;   // images
    int64_t c = 0;   // classes (matrix is c x c; logits have c channels)
    int64_t hw = 0;  // pixels per image
    int64_t ignore_index = 255;
};

// The status block, int64[4], accumulated (+= for the counts, min for the positions): counts of
// invalid target / prediction pixels, and the smallest flat pixel index (n * hw + h * W + w) of
// each kind over all the calls accumulated into the block (kNoPixel when none). Null status:
// invalid pixels are skipped without a trace.
enum ConfusionStatus : int { kBadTargetCount = 0, kBadTargetFirst = 1, kBadPredCount = 2, kBadPredFirst = 3 };
inline constexpr int kConfusionStatusSize = 4;
inline constexpr int64_t kNoPixel = INT64_MAX;
// The op accepts 1..kMaxConfusionClasses classes (tests cover up to 256).
inline constexpr int64_t kMaxConfusionClasses = 1024;

// T: logits type, P: predicted-label type, L: target type. conf: c*c int64, row-major (t, p).
template <typename T, typename L>
void confusion_from_logits_cpu(const ConfusionParams& p, const T* logits, const L* target, int64_t* conf,
                               int64_t* status);
template <typename P, typename L>
void confusion_from_labels_cpu(const ConfusionParams& p, const P* pred, const L* target, int64_t* conf,
                               int64_t* status);

template <typename T, typename L>
void confusion_from_logits_cuda(const ConfusionParams& p, const T* logits, const L* target, int64_t* conf,
                                int64_t* status, Stream s);
template <typename P, typename L>
void confusion_from_labels_cuda(const ConfusionParams& p, const P* pred, const L* target, int64_t* conf,
                                int64_t* status, Stream s);
// conf += other (n int64 values): merging matrices on the device.
void confusion_add_cuda(int64_t* conf, const int64_t* other, int64_t n, Stream s);
// The textbook kernel, kept as the benchmark baseline (bench/cuda/bench_metrics_cuda.cpp): one
// thread per pixel, one 64-bit global atomicAdd per counted pixel, no privatisation, no warp
// aggregation, no label check. Predicted labels as from ops::argmax (i64).
void confusion_naive_from_labels_cuda(const ConfusionParams& p, const int64_t* pred, const int64_t* target,
                                      int64_t* conf, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct ConfusionOptions {
    int64_t ignore_index = 255;
    bool check_labels = true;  // see the header comment: throws on invalid labels (CUDA: one sync)
};

// conf += confusion of (input, target). input: logits (N, C, H, W) floating, or predicted labels
// (N, H, W) integer — told apart by dtype. conf: (C, C) i64 on the inputs' device. status: an
// optional (4) i64 tensor on the same device, accumulated (see kernels::ConfusionStatus); create it
// with confusion_status().
void confusion_matrix_update(Tensor& conf, const Tensor& input, const Tensor& target, const ConfusionOptions& opt = {},
                             const Tensor& status = Tensor());

// A new (C, C) i64 matrix of this batch alone.
Tensor confusion_matrix(const Tensor& input, const Tensor& target, int64_t num_classes,
                        const ConfusionOptions& opt = {});

// A fresh status block on `device`: counts 0, first pixels kNoPixel.
Tensor confusion_status(Device device);

// conf += other for two (C, C) i64 matrices (other may be on another device: copied first).
void confusion_matrix_merge_(Tensor& conf, const Tensor& other);

}  // namespace segcore::ops
