#pragma once
// torch.nn.utils.clip_grad_norm_: scales the gradients of `params` so their global L2 norm is at
// most max_norm, by min(1, max_norm / (norm + 1e-6)). Returns the norm before clipping as a 0-d
// tensor on the gradients' device. On CUDA nothing waits for the device: the coefficient is
// computed and applied there (kernels/optim/grad_ops.h, three launches for any number of tensors).
// Parameters without a grad are ignored; none at all gives a 0 norm. Every grad must be on one
// device with one dtype. The norm is deterministic (fixed chunking, fixed combination order).
#include <vector>

#include "autograd/variable.h"
#include "core/tensor.h"

namespace segcore::nn {

Tensor clip_grad_norm_(const std::vector<autograd::Variable>& params, double max_norm);
// The global L2 norm of the grads without clipping.
Tensor grad_norm(const std::vector<autograd::Variable>& params);

}  // namespace segcore::nn
