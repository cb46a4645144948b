#pragma once
// Helpers shared by the per-pixel losses' CPU kernels (cross_entropy_cpu.cpp, kd_loss_cpu.cpp).
// Not a public API.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/common/vec_math.h"

namespace segcore::kernels::pixel_cpu {

// Pixels per work item: a tile of consecutive pixels read channel by channel (channels are H*W
// apart in NCHW), so every channel read is a short contiguous run.
inline constexpr int64_t kTile = 64;

// exp in the accumulation type: the vectorisable f32 exp, or std::exp for f64.
template <typename A>
inline A exp_acc(A v) {
    if constexpr (std::is_same_v<A, float>)
        return vec::exp_f32(v);
    else
        return std::exp(v);
}

// max that lets a NaN win (the loss of a pixel with a NaN logit is NaN, as in PyTorch).
template <typename A>
inline A max_nan(A m, A v) {
    return (v > m || v != v) ? v : m;
}

}  // namespace segcore::kernels::pixel_cpu

// Instantiates M(T, L, S) for every logits dtype T (with its loss dtype S) and label dtype L the
// per-pixel losses support.
#define SEGCORE_PIXEL_LOSS_INSTANTIATE(M)                                                            \
    M(float, int64_t, float) M(float, int32_t, float) M(float, uint8_t, float)                       \
    M(double, int64_t, double) M(double, int32_t, double) M(double, uint8_t, double)                 \
    M(Half, int64_t, float) M(Half, int32_t, float) M(Half, uint8_t, float)                          \
    M(BFloat16, int64_t, float) M(BFloat16, int32_t, float) M(BFloat16, uint8_t, float)
