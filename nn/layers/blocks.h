#pragma once
// The building blocks of segmentation heads, with the child names of the reference
// implementations so their PyTorch state dicts load unchanged (the keys are pinned against
// PyTorch in tests/nn/test_blocks.cpp).
//
// Conv -> BN -> ReLU triples are a Conv2d plus a BatchNorm2d whose kernel applies the ReLU
// (BatchNormConfig::act): one pass over the activation instead of two. ReLU has no parameters,
// so the keys are those of the reference's three modules; a Sequential(conv "0", bn "1",
// relu "2") here has children "0" and "1" only, and keys 0.weight, 1.weight, 1.bias,
// 1.running_mean, 1.running_var, 1.num_batches_tracked, as in PyTorch.
//
// Children are called through Module::operator() so a hook there sees every layer. Blocks with
// two inputs (FeatureFusionModule) have their own forward(a, b); their single-input forward
// throws. All accept any H x W (odd sizes too) and any N (N = 1 in training fails in BatchNorm
// wherever a branch pools to 1 x 1, as in PyTorch).
#include <memory>
#include <vector>

#include "nn/layers/activation.h"
#include "nn/layers/container.h"
#include "nn/layers/conv.h"
#include "nn/layers/norm.h"
#include "nn/layers/pool.h"

namespace segcore::nn {

// Depthwise k x k conv (groups = in, "same" padding dilation * (k - 1) / 2) + BN + ReLU, then
// pointwise 1x1 conv + BN + ReLU, both convs without bias (the separable conv of Xception /
// DeepLabV3+ decoders and of MobileNetV1). Keys:
//   depthwise.0.weight (in, 1, k, k)   depthwise.1.{weight, bias, running_mean, running_var, num_batches_tracked}
//   pointwise.0.weight (out, in, 1, 1) pointwise.1.{...}
struct DepthwiseSeparableConv2dConfig {
    int64_t kernel_size = 3;  // odd, so that stride 1 keeps the size
    int64_t stride = 1, dilation = 1;
};

class DepthwiseSeparableConv2d : public Module {
public:
    DepthwiseSeparableConv2d(int64_t in_channels, int64_t out_channels, DepthwiseSeparableConv2dConfig cfg = {});
    Variable forward(const Variable& x) override;
    std::shared_ptr<Sequential> depthwise, pointwise;
};

// torchvision.ops.SqueezeExcitation: scale = scale_activation(fc2(activation(fc1(avgpool(x)))));
// y = scale * x. fc1, fc2 are 1x1 convs with bias. Keys fc1.weight (squeeze, in, 1, 1), fc1.bias,
// fc2.weight (in, squeeze, 1, 1), fc2.bias. The activations default to ReLU and Sigmoid (a
// parameter-free module may replace either, e.g. MobileNetV3's hard sigmoid).
class SqueezeExcitation : public Module {
public:
    SqueezeExcitation(int64_t input_channels, int64_t squeeze_channels, std::shared_ptr<Module> activation = nullptr,
                      std::shared_ptr<Module> scale_activation = nullptr);
    Variable forward(const Variable& x) override;
    std::shared_ptr<AdaptiveAvgPool2d> avgpool;
    std::shared_ptr<Conv2d> fc1, fc2;
    std::shared_ptr<Module> activation, scale_activation;
};

// ASPP's image-level branch (torchvision ASPPPooling): global average pool, 1x1 conv, BN, ReLU,
// then bilinear (align_corners=False) back to the input's H x W. Children "0" (the pool), "1"
// (the conv), "2" (BN + ReLU), as torchvision's Sequential subclass, so its conv is convs.<i>.1.
class ASPPPooling : public Module {
public:
    ASPPPooling(int64_t in_channels, int64_t out_channels);
    Variable forward(const Variable& x) override;
    std::shared_ptr<AdaptiveAvgPool2d> pool;
    std::shared_ptr<Conv2d> conv;
    std::shared_ptr<BatchNorm2d> bn;
};

// torchvision.models.segmentation.deeplabv3.ASPP: parallel branches on the same input,
// concatenated, then projected.
//   convs.0          1x1 conv (no bias) + BN + ReLU                        keys convs.0.0.weight, convs.0.1.*
//   convs.1..R       3x3 conv, dilation = padding = rate (ASPPConv)        keys convs.<i>.0.weight, convs.<i>.1.*
//   convs.R+1        ASPPPooling                                           keys convs.<R+1>.1.weight, convs.<R+1>.2.*
//   project          1x1 conv ((R + 2) * out -> out, no bias) + BN + ReLU, Dropout(0.5)
//                    keys project.0.weight, project.1.*; the Dropout is project.2 here (project.3 in
//                    torchvision, after the ReLU module this block fuses into the BN).
// DeepLabV3 uses rates {12, 24, 36} at output stride 8 and {6, 12, 18} at 16.
class ASPP : public Module {
public:
    ASPP(int64_t in_channels, std::vector<int64_t> atrous_rates, int64_t out_channels = 256);
    Variable forward(const Variable& x) override;
    std::shared_ptr<ModuleList> convs;
    std::shared_ptr<Sequential> project;
};

// PSPNet's pyramid pooling module: for each bin b, AdaptiveAvgPool2d(b) -> 1x1 conv
// (in -> in / len(bins), no bias) -> BN -> ReLU, upsampled bilinearly to the input's H x W;
// the input and every branch are concatenated: out_channels() = in + len(bins) * (in / len(bins)).
// Keys stages.<i>.1.weight (the conv; stages.<i>.0 is the pool), stages.<i>.2.* (BN) — the layout
// of hszhao/semseg's PPM, whose list is named "features" (rename the prefix when loading those).
// semseg upsamples with align_corners=True; the default here is False (set it for those weights).
class PyramidPoolingModule : public Module {
public:
    explicit PyramidPoolingModule(int64_t in_channels, std::vector<int64_t> bins = {1, 2, 3, 6},
                                  bool align_corners = false);
    Variable forward(const Variable& x) override;
    int64_t out_channels() const { return in_channels + int64_t(bins.size()) * reduction_channels; }
    std::shared_ptr<ModuleList> stages;
    const int64_t in_channels, reduction_channels;
    const std::vector<int64_t> bins;
    const bool align_corners;
};

// BiSeNet's ConvBNReLU with its reference's child names (CoinCheung/BiSeNet): "conv" (no bias)
// and "bn" (+ ReLU), keys conv.weight, bn.*. (torchvision-style "0"/"1" blocks are ConvBNAct in
// nn/layers/conv_bn_act.h.)
class BiSeNetConvBNReLU : public Module {
public:
    BiSeNetConvBNReLU(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1);
    Variable forward(const Variable& x) override;
    std::shared_ptr<Conv2d> conv;
    std::shared_ptr<BatchNorm2d> bn;
};

// BiSeNet's attention refinement module (CoinCheung/BiSeNet): feat = ConvBNReLU 3x3 (in -> out);
// att = sigmoid(BN(conv1x1(global average of feat))); y = feat * att. Keys conv.conv.weight,
// conv.bn.*, conv_atten.weight (out, out, 1, 1; no bias), bn_atten.*.
class AttentionRefinementModule : public Module {
public:
    AttentionRefinementModule(int64_t in_channels, int64_t out_channels);
    Variable forward(const Variable& x) override;
    std::shared_ptr<BiSeNetConvBNReLU> conv;
    std::shared_ptr<Conv2d> conv_atten;
    std::shared_ptr<BatchNorm2d> bn_atten;
    std::shared_ptr<Sigmoid> sigmoid_atten;
};

// BiSeNet's feature fusion module (CoinCheung/BiSeNet): feat = ConvBNReLU 1x1 over
// concat(spatial, context) (in = their channels together -> out); att = sigmoid(conv2(relu(
// conv1(global average of feat)))) with conv1 out -> out / reduction, conv2 back to out, both 1x1
// without bias; y = feat + feat * att. Keys convblk.conv.weight, convblk.bn.*, conv1.weight,
// conv2.weight.
class FeatureFusionModule : public Module {
public:
    FeatureFusionModule(int64_t in_channels, int64_t out_channels, int64_t reduction = 4);
    using Module::forward;  // the single-input one, which throws
    Variable forward(const Variable& spatial, const Variable& context);
    std::shared_ptr<BiSeNetConvBNReLU> convblk;
    std::shared_ptr<Conv2d> conv1, conv2;
    std::shared_ptr<ReLU> relu;
    std::shared_ptr<Sigmoid> sigmoid;
    const int64_t in_channels;
};

}  // namespace segcore::nn
