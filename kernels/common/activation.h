#pragma once
// The activations fused into other kernels' epilogues (batch norm, conv bias): none, ReLU, ReLU6.
// Host and device share these, so fused and unfused paths agree at the kinks (PyTorch's rules:
// relu'(0) = 0; relu6' = 0 at 0 and at 6).
#include <cstdint>

#include "core/host_device.h"

namespace segcore::kernels {

enum class Act : uint8_t { None, Relu, Relu6 };
const char* act_name(Act a);  // "none", "relu", "relu6"

template <typename A>
SEGCORE_HOST_DEVICE A act_forward(Act a, A z) {
    if (a == Act::Relu) return z < A(0) ? A(0) : z;
    if (a == Act::Relu6) return z < A(0) ? A(0) : (z > A(6) ? A(6) : z);
    return z;
}

// Whether the gradient passes at pre-activation z (act'(z) is 0 or 1 for these). Bitwise & rather
// than && keeps the test branch-free, so CPU loops that use it still vectorise.
template <typename A>
SEGCORE_HOST_DEVICE bool act_passes(Act a, A z) {
    if (a == Act::Relu) return z > A(0);
    if (a == Act::Relu6) return (z > A(0)) & (z < A(6));
    return true;
}

}  // namespace segcore::kernels
