#pragma once
// Shared by bench/cpu/bench_loss_region.cpp and bench/cuda/bench_loss_region_cuda.cpp: the inputs
// of a region-loss benchmark and the composite Dice made of generic autograd ops (softmax, mul,
// sum, ...), the baseline the fused kernel pair is measured against in the same run.
#include <cstdint>

#include "autograd/functions.h"
#include "core/tensor.h"

namespace segcore::bench {

struct RegionLossInputs {
    Tensor logits;  // (N, C, H, W) f32
    Tensor labels;  // (N, H, W) i64 in [0, C) with ~5% ignore_index (255)
    Tensor onehot;  // (N, C, H, W) f32, zero at ignored pixels: the composite's g (built outside the timing)
    Tensor mask;    // (N, 1, H, W) f32, 1 at valid pixels
};

// Built on the CPU and moved to `device`.
RegionLossInputs make_region_loss_inputs(int64_t n, int64_t c, int64_t h, int64_t w, Device device);

// 1 - mean_c (2 sum p g + s) / (sum p + sum g + s), p = softmax(x) masked: the same loss as
// ops::dice_loss (all classes, s = 1) from generic ops. Returns the scalar loss.
autograd::Variable composite_dice(const autograd::Variable& logits, const RegionLossInputs& in);

// Bytes the fused forward + backward must move at least once: logits read twice (forward, backward),
// dx written once, labels read twice.
double region_loss_bytes(const RegionLossInputs& in);

}  // namespace segcore::bench
