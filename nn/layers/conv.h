#pragma once
// Convolution layers with torch.nn's parameter names ("weight", "bias"), shapes and default init
// (kaiming_uniform with a = sqrt(5) for the weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the
// bias), so state dicts load from PyTorch checkpoints unchanged.
#include "autograd/functions.h"
#include "nn/module.h"

namespace segcore::nn {

struct Conv2dConfig {
    int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
    bool bias = true;
    // Per-layer CUDA backend override (kernels/conv/conv_backend.h); Default follows the global one.
    kernels::ConvBackend backend = kernels::ConvBackend::Default;
};

// weight (out, in / groups, k, k), bias (out).
class Conv2d : public Module {
public:
    Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dConfig cfg = {},
           TensorOptions opt = {});
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    void reset_parameters(Generator* gen = nullptr);
    ops::Conv2dOptions options() const;

    Variable weight, bias;
    const int64_t in_channels, out_channels, kernel_size;
    const Conv2dConfig cfg;
};

struct ConvTranspose2dConfig {
    int64_t stride = 1, padding = 0, output_padding = 0, dilation = 1, groups = 1;
    bool bias = true;
    kernels::ConvBackend backend = kernels::ConvBackend::Default;
};

// weight (in, out / groups, k, k) — PyTorch's transposed layout — bias (out).
class ConvTranspose2d : public Module {
public:
    ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, ConvTranspose2dConfig cfg = {},
                    TensorOptions opt = {});
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    void reset_parameters(Generator* gen = nullptr);
    ops::ConvTranspose2dOptions options() const;

    Variable weight, bias;
    const int64_t in_channels, out_channels, kernel_size;
    const ConvTranspose2dConfig cfg;
};

}  // namespace segcore::nn
