#pragma once
// batch_norm2d, optionally fused with ReLU or ReLU6 (the ConvBNAct blocks of MobileNetV2,
// FastSegNet, ENet). docs/kernels/batch_norm.md has the derivation.
//
// Training (batch statistics over N, H, W for each channel c; M = N * H * W):
//   mean_c = (1/M) sum x            var_c = (1/M) sum (x - mean_c)^2          (biased, used to normalise)
//   invstd_c = 1 / sqrt(var_c + eps)
//   xhat = (x - mean_c) invstd_c     z = gamma_c xhat + beta_c     y = act(z)
//   running_mean = (1 - momentum) running_mean + momentum mean_c
//   running_var  = (1 - momentum) running_var  + momentum var_c M / (M - 1)   (unbiased, as PyTorch)
// Eval: mean/invstd come from the running statistics instead; nothing is updated.
// Backward (training), with g = dy * act'(z):
//   dbeta = sum g     dgamma = sum g xhat
//   dx = gamma invstd / M (M g - dbeta - xhat dgamma)
// Backward (eval): dx = g gamma invstd; dgamma, dbeta as above.
//
// Shapes: x, y (N, C, H, W) (any 2+-D input with channels in dim 1 works: H*W may be 1);
// gamma, beta, running stats, saved mean/invstd (C). gamma/beta may be absent (affine = false).
// Dtypes: x in f32, f64, f16, bf16; the statistics, gamma and beta in f32 (f64 for f64 x) — a
// 16-bit activation never holds a statistic, which is what AMP needs (docs/numerics.md).
// Reductions are deterministic (fixed-order per-channel sums in double on the CPU; a two-stage
// Welford reduction with fixed combination order on CUDA).
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/common/activation.h"

namespace segcore::kernels {

// The fused activation (kernels/common/activation.h).
using BnAct = Act;
inline const char* bn_act_name(BnAct a) { return act_name(a); }

struct BatchNormParams {
    int64_t n = 0, c = 0, hw = 0;
    double eps = 1e-5;
    double momentum = 0.1;
    BnAct act = BnAct::None;
};

// T: x/y dtype; S: statistics dtype (float, or double for T = double). Null gamma/beta = affine off;
// null running stats = do not track.
template <typename T, typename S>
void batch_norm_train_forward_cpu(const BatchNormParams& p, const T* x, const S* gamma, const S* beta, T* y,
                                  S* save_mean, S* save_invstd, S* running_mean, S* running_var);
// Normalise with given per-channel mean and invstd (eval: from the running statistics).
template <typename T, typename S>
void batch_norm_apply_cpu(const BatchNormParams& p, const T* x, const S* mean, const S* invstd, const S* gamma,
                          const S* beta, T* y);
// training = true: the batch-statistics gradient; false: eval (statistics are constants).
template <typename T, typename S>
void batch_norm_backward_cpu(const BatchNormParams& p, bool training, const T* dy, const T* x, const S* mean,
                             const S* invstd, const S* gamma, const S* beta, T* dx, S* dgamma, S* dbeta);

template <typename T, typename S>
void batch_norm_train_forward_cuda(const BatchNormParams& p, const T* x, const S* gamma, const S* beta, T* y,
                                   S* save_mean, S* save_invstd, S* running_mean, S* running_var, Stream s);
template <typename T, typename S>
void batch_norm_apply_cuda(const BatchNormParams& p, const T* x, const S* mean, const S* invstd, const S* gamma,
                           const S* beta, T* y, Stream s);
template <typename T, typename S>
void batch_norm_backward_cuda(const BatchNormParams& p, bool training, const T* dy, const T* x, const S* mean,
                              const S* invstd, const S* gamma, const S* beta, T* dx, S* dgamma, S* dbeta, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct BatchNormResult {
    Tensor y;
    Tensor save_mean, save_invstd;  // what backward needs (the running-stat versions in eval)
};

// training: batch statistics (and running stats updated in place when defined); else the running
// statistics are used. gamma/beta/running_* may be undefined.
BatchNormResult batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                           Tensor running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                           kernels::BnAct act = kernels::BnAct::None);

struct BatchNormGrads {
    Tensor dx, dgamma, dbeta;
};
BatchNormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& save_mean,
                                   const Tensor& save_invstd, const Tensor& gamma, const Tensor& beta, bool training,
                                   kernels::BnAct act = kernels::BnAct::None);

// Inference folding: BN(conv(x, w) + b) == conv(x, w') + b' with
//   w'[k] = w[k] gamma_k / sqrt(var_k + eps),  b' = (b - mean) gamma / sqrt(var + eps) + beta.
// Returns {w', b'} in w's dtype (computed in f64).
std::pair<Tensor, Tensor> fold_batch_norm(const Tensor& w, const Tensor& b, const Tensor& gamma, const Tensor& beta,
                                          const Tensor& running_mean, const Tensor& running_var, double eps = 1e-5);

}  // namespace segcore::ops
