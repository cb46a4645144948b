#pragma once
// Stateless layer functions on Variables, built from the differentiable ops of autograd/:
// the modules in nn/layers/ hold parameters and call these.
#include "autograd/variable.h"
#include "core/tensor.h"

namespace segcore::nn::functional {

using autograd::Variable;

// y = x @ weight^T + bias; x (..., in), weight (out, in), bias (out) or undefined.
// Runs in the autocast dtype under AutocastGuard ("linear" in the policy table).
Variable linear(const Variable& x, const Variable& weight, const Variable& bias);

// Inverted dropout: in training, each element is zeroed with probability p and the survivors are
// scaled by 1 / (1 - p); in eval (or p == 0) x is returned unchanged. The mask comes from the
// Philox generator, so it is the same on CPU and CUDA for the same seed.
Variable dropout(const Variable& x, double p, bool training, Generator* gen = nullptr);
// Channel dropout on (N, C, H, W): each (n, c) plane is zeroed with probability p, survivors scaled
// by 1 / (1 - p); identity in eval or with p == 0 (kernels/dropout/dropout.h).
Variable dropout2d(const Variable& x, double p, bool training, Generator* gen = nullptr);

// Zero padding of the last two dims of (N, C, H, W): `left`/`right` columns and `top`/`bottom`
// rows (each >= 0), like F.pad(x, (left, right, top, bottom)). The gradient is the centre crop.
// U-Net-style decoders use it to bring an up-sampled map to its skip connection's odd size.
Variable pad2d(const Variable& x, int64_t left, int64_t right, int64_t top, int64_t bottom);

// Bilinear resize of (N, C, H, W) to (h, w) with align_corners = false (torchvision's heads).
Variable resize_bilinear(const Variable& x, int64_t h, int64_t w);

}  // namespace segcore::nn::functional
