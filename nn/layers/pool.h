#pragma once
// Pooling layers with torch.nn's constructor defaults and printed form. None has parameters; each
// is the autograd function of kernels/pool/ (the math, PyTorch's output-size and tie rules and
// the determinism notes are in kernels/pool/max_pool2d.h and avg_pool2d.h).
//
// The square constructors cover what segmentation models use (kernel_size=3, stride=2,
// padding=1 in a ResNet stem; 2x2 in U-Net and SegNet); the ops:: options constructors take
// rectangular windows.
#include <utility>

#include "autograd/functions.h"
#include "nn/module.h"

namespace segcore::nn {

struct MaxPool2dConfig {
    int64_t stride = -1;  // -1: the kernel size (PyTorch's default)
    int64_t padding = 0, dilation = 1;
    bool ceil_mode = false;
};

class MaxPool2d : public Module {
public:
    explicit MaxPool2d(int64_t kernel_size, MaxPool2dConfig cfg = {});
    explicit MaxPool2d(const ops::MaxPool2dOptions& opt);
    Variable forward(const Variable& x) override;
    // SegNet's encoder keeps where each maximum came from for the decoder's MaxUnpool2d:
    // {values, indices} with indices i64, flat h*W + w within each input plane (PyTorch's
    // return_indices=True). The indices are not differentiable.
    std::pair<Variable, Tensor> forward_with_indices(const Variable& x);
    std::string extra_repr() const override;
    const ops::MaxPool2dOptions opt;
};

// The inverse of MaxPool2d for SegNet: scatters x to `indices` in a zero (N, C, out_h, out_w)
// map. The output size is given explicitly (the size of the map that was pooled), which is what
// PyTorch's output_size argument does; odd sizes need it, since 2x a pooled size loses a row.
class MaxUnpool2d : public Module {
public:
    MaxUnpool2d() : Module("MaxUnpool2d") {}
    using Module::forward;  // the single-input one, which throws
    Variable forward(const Variable& x, const Tensor& indices, int64_t out_h, int64_t out_w);
};

struct AvgPool2dConfig {
    int64_t stride = -1;  // -1: the kernel size
    int64_t padding = 0;
    bool ceil_mode = false;
    bool count_include_pad = true;
};

class AvgPool2d : public Module {
public:
    explicit AvgPool2d(int64_t kernel_size, AvgPool2dConfig cfg = {});
    explicit AvgPool2d(const ops::AvgPool2dOptions& opt);
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    const ops::AvgPool2dOptions opt;
};

// Averages each plane into out_h x out_w bins (PyTorch's overlapping bins when the size does not
// divide). 1 x 1 is global average pooling (ASPP's image branch, SE, BiSeNet's attention).
class AdaptiveAvgPool2d : public Module {
public:
    explicit AdaptiveAvgPool2d(int64_t output_size) : AdaptiveAvgPool2d(output_size, output_size) {}
    AdaptiveAvgPool2d(int64_t out_h, int64_t out_w);
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    const int64_t out_h, out_w;
};

}  // namespace segcore::nn
