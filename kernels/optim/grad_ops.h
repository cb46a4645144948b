#pragma once
// Multi-tensor gradient helpers for training loops: global L2 norm and clipping, and the two AMP
// loss-scale ops of PyTorch (_amp_foreach_non_finite_check_and_unscale_, _amp_update_scale_).
// None of them synchronises with the host: results stay in device tensors.
//
//   l2_norm(xs)             norm = sqrt(sum_i sum_j xs[i][j]^2)                  (= overwritten)
//   clip coefficient        coef = min(1, max_norm / (norm + 1e-6))              (torch's clip_grad_norm_)
//   scale_(xs, s)           xs[i][j] = xs[i][j] * s        (s: a 1-element tensor, read on the device)
//   non_finite_check_and_unscale_(grads, found_inf, inv_scale)
//                           found_inf = 1 if any grad is inf or NaN (otherwise left as it was);
//                           grads[i][j] *= inv_scale (skipped when inv_scale is undefined: check only)
//   update_scale_(scale, growth_tracker, found_inf, growth, backoff, interval)    (torch semantics)
//       found_inf != 0:  scale *= backoff, growth_tracker = 0
//       otherwise:       growth_tracker += 1; when it reaches interval: scale *= growth (kept only
//                        if the result is finite, computed in f32) and growth_tracker = 0
//
// Determinism of the norm: each chunk of kMultiTensorChunk elements (multi_tensor.h) is summed in a
// fixed order (CPU: in double; CUDA: f32 per thread, a fixed block tree), and chunk sums are combined
// in chunk order (in double) by one thread group. No float atomics: results are bitwise identical
// run to run (per backend).
//
// dtypes: CPU f32, f64 (found_inf, inv_scale and scale are always f32, growth_tracker i32); CUDA f32.
// Tensors must be contiguous.
#include <cstdint>
#include <vector>

#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/optim/multi_tensor.h"

namespace segcore::kernels {

// lists: {x}. norm_out: one element. coef_out (nullable): the clip coefficient for max_norm.
// CUDA: workspace holds t.num_chunks() floats (per-chunk sums of squares).
template <typename T>
void l2_norm_cpu(const TensorLists<T>& t, T* norm_out, T* coef_out, double max_norm);
template <typename T>
void l2_norm_cuda(const TensorLists<T>& t, float* workspace, T* norm_out, T* coef_out, double max_norm, Stream s);

// lists: {x}; x *= *scale.
template <typename T>
void scale_cpu(const TensorLists<T>& t, const T* scale);
template <typename T>
void scale_cuda(const TensorLists<T>& t, const T* scale, Stream s);

// lists: {grad}. inv_scale nullable (check only).
template <typename T>
void non_finite_check_and_unscale_cpu(const TensorLists<T>& t, float* found_inf, const float* inv_scale);
template <typename T>
void non_finite_check_and_unscale_cuda(const TensorLists<T>& t, float* found_inf, const float* inv_scale, Stream s);

struct UpdateScaleParams {
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int64_t growth_interval = 2000;
};
void update_scale_cpu(const UpdateScaleParams& p, float* scale, int32_t* growth_tracker, const float* found_inf);
void update_scale_cuda(const UpdateScaleParams& p, float* scale, int32_t* growth_tracker, const float* found_inf,
                       Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

// The global L2 norm of a list of tensors (any shapes, one device and dtype) as a 0-d tensor of that
// dtype on that device. An empty list gives 0.
Tensor multi_tensor_l2_norm(const std::vector<Tensor>& xs);
// Every tensor multiplied in place by the 1-element tensor `scale` (same device and dtype).
void multi_tensor_scale_(const std::vector<Tensor>& xs, const Tensor& scale);
// torch.nn.utils.clip_grad_norm_ on tensors: scales grads in place by min(1, max_norm / (norm +
// 1e-6)) computed on the device (no host sync) and returns the total norm (0-d, before clipping).
// A non-finite norm is not an error (torch's default): the coefficient is then NaN or 0.
Tensor clip_grad_norm_(const std::vector<Tensor>& grads, double max_norm);

// found_inf: 1-element f32 on the grads' device; inv_scale: 1-element f32 or undefined (check only).
void non_finite_check_and_unscale_(const std::vector<Tensor>& grads, Tensor& found_inf, const Tensor& inv_scale);
// scale: 1-element f32, growth_tracker: 1-element i32, found_inf: 1-element f32, all on one device.
void update_scale_(Tensor& scale, Tensor& growth_tracker, const Tensor& found_inf, double growth_factor,
                   double backoff_factor, int64_t growth_interval);

}  // namespace segcore::ops
