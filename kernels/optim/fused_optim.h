#pragma once
// Fused multi-tensor optimiser updates: one call updates every parameter of a group (one CUDA launch
// for up to ~450 tensors; see multi_tensor_cuda.cuh). PyTorch 1.13's single-tensor semantics, with
// every scalar cast to the element type T as PyTorch's f32/f64 CPU ops do:
//
//   g  = grad * inv_scale                      (inv_scale: optional loss-scale input)
//   t  = step - skipped                        (the step count, 1 on the first update)
//
//   SGD   (lr, momentum mu, dampening d, weight_decay wd, nesterov)
//     g   = g + wd * p                                        (when wd != 0)
//     buf = t == 1 ? g : mu * buf + (1 - d) * g               (when mu != 0; buf = first grad, as torch)
//     g   = nesterov ? g + mu * buf : buf                     (when mu != 0)
//     p   = p - lr * g
//
//   Adam / AdamW  (lr, beta1, beta2, eps, weight_decay wd, amsgrad)
//     Adam:  g = g + wd * p          AdamW:  p = p * (1 - lr * wd)     (decoupled)
//     m     = beta1 * m + (1 - beta1) * g
//     v     = beta2 * v + (1 - beta2) * g * g
//     vmax  = max(vmax, v)                                    (amsgrad; the denominator uses vmax)
//     denom = sqrt(v) / sqrt(1 - beta2^t) + eps               (eps outside the sqrt, as torch)
//     p     = p - (lr / (1 - beta1^t)) * m / denom
//   The bias corrections are computed in double, then cast to T (torch computes them in Python).
//
// Every tensor is updated IN PLACE (p, buf, m, v, vmax overwritten); grads are read only. When
// *found_inf != 0 nothing is written except the skip counters (multi_tensor.h, StepCounts).
//
// dtypes: CPU f32, f64; CUDA f32. Tensors must be contiguous (ops:: checks).
#include <cstdint>
#include <vector>

#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/optim/multi_tensor.h"

namespace segcore::kernels {

struct SgdParams {
    double lr = 0.01;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
};

struct AdamParams {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;
    bool decoupled_weight_decay = false;  // true: AdamW
    bool amsgrad = false;
};

// SGD lists: {param, grad, momentum_buffer}; the third list is empty when momentum == 0.
template <typename T>
void sgd_step_cpu(const SgdParams& p, const TensorLists<T>& t, const StepCounts& steps, GradScaling scaling);
template <typename T>
void sgd_step_cuda(const SgdParams& p, const TensorLists<T>& t, const StepCounts& steps, GradScaling scaling, Stream s);

// Adam lists: {param, grad, exp_avg, exp_avg_sq} plus max_exp_avg_sq when amsgrad.
template <typename T>
void adam_step_cpu(const AdamParams& p, const TensorLists<T>& t, const StepCounts& steps, GradScaling scaling);
template <typename T>
void adam_step_cuda(const AdamParams& p, const TensorLists<T>& t, const StepCounts& steps, GradScaling scaling,
                    Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

// The tensors of one fused step. All on one device, one dtype, contiguous; params[i], grads[i] and
// every state tensor [i] have the same numel. steps[i] counts this step (see StepCounts); skipped
// is empty or one 1-element f32 tensor per parameter (the device-side skip counter). inv_scale and
// found_inf are optional 1-element f32 tensors on the same device.
struct OptimStepArgs {
    std::vector<Tensor> params;
    std::vector<Tensor> grads;
    std::vector<int64_t> steps;
    std::vector<Tensor> skipped;
    Tensor inv_scale;
    Tensor found_inf;
};

void sgd_step_(const OptimStepArgs& a, const std::vector<Tensor>& momentum_buffers, const kernels::SgdParams& p);
// max_exp_avg_sqs: empty unless p.amsgrad.
void adam_step_(const OptimStepArgs& a, const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<Tensor>& max_exp_avg_sqs, const kernels::AdamParams& p);

}  // namespace segcore::ops
