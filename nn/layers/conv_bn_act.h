#pragma once
// The two building blocks of the MobileNet family and of most light segmentation nets, with
// torchvision's parameter names so its checkpoints load unchanged.
//
// ConvBNAct = torchvision.ops.Conv2dNormActivation: children "0" (Conv2d, no bias by default) and
// "1" (BatchNorm2d). torchvision also has a "2" (ReLU / ReLU6); here the activation is fused into
// the BatchNorm kernel (BatchNormConfig.act), one pass less over the feature map. Activations hold
// no parameters, so the state-dict keys are identical: "0.weight", "1.running_mean", ...
//
// InvertedResidual = torchvision.models.mobilenetv2.InvertedResidual: "conv" is a Sequential of
//   [ConvBNAct 1x1 expand, ReLU6]   only when expand_ratio != 1
//   ConvBNAct 3x3 depthwise, ReLU6  (stride, dilation)
//   Conv2d 1x1 project (no bias), BatchNorm2d (linear bottleneck: no activation)
// with a residual connection when stride == 1 and in == out. torchvision has no dilation here;
// DeepLab-style output strides 8/16 need it on the depthwise conv (seg/models/backbones/mobilenetv2.h).
#include <memory>

#include "nn/layers/container.h"
#include "nn/layers/conv.h"
#include "nn/layers/norm.h"
#include "nn/module.h"

namespace segcore::nn {

struct ConvBNActConfig {
    int64_t stride = 1;
    int64_t padding = -1;  // -1: (kernel_size - 1) / 2 * dilation, torchvision's default ("same" at stride 1)
    int64_t dilation = 1, groups = 1;
    bool bias = false;  // torchvision: bias only when there is no norm layer, and here there always is
    kernels::Act act = kernels::Act::Relu;
    double bn_eps = 1e-5, bn_momentum = 0.1;
};

class ConvBNAct : public Module {
public:
    ConvBNAct(int64_t in_channels, int64_t out_channels, int64_t kernel_size, ConvBNActConfig cfg = {},
              TensorOptions opt = {});
    Variable forward(const Variable& x) override;

    std::shared_ptr<Conv2d> conv;     // "0"
    std::shared_ptr<BatchNorm2d> bn;  // "1" (activation fused)
    const int64_t out_channels;
};

struct InvertedResidualConfig {
    int64_t stride = 1;    // 1 or 2
    int64_t dilation = 1;  // of the depthwise 3x3
    double expand_ratio = 6;
};

class InvertedResidual : public Module {
public:
    InvertedResidual(int64_t in_channels, int64_t out_channels, InvertedResidualConfig cfg = {},
                     TensorOptions opt = {});
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;

    std::shared_ptr<Sequential> conv;
    const int64_t in_channels, out_channels, hidden_channels;
    const InvertedResidualConfig cfg;
    const bool use_res_connect;
};

}  // namespace segcore::nn
