#pragma once
// ResNet-18/34/50/101 as torchvision.models.resnet builds them, with the same parameter names
// (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, ..., fc) so torchvision checkpoints load
// unchanged. The parameterless modules (relu, maxpool, avgpool) are not registered: the ReLUs are
// fused into the BatchNorm kernel or applied after the residual add, the pools are plain functions.
//
//   stem     conv1 7x7/2, bn1 + ReLU, maxpool 3x3/2          stride 4
//   layer1   blocks at 64 planes                             stride 4
//   layer2   128 planes, first block stride 2                stride 8
//   layer3   256 planes, first block stride 2                stride 16
//   layer4   512 planes, first block stride 2                stride 32
//   (fc)     avgpool + Linear(512 * expansion, num_classes), only with with_classifier
//
// Output stride 16 or 8 replaces the stride of layer4 (and layer3) by dilation, exactly like
// torchvision's replace_stride_with_dilation = [False, False, True] / [False, True, True]:
// _make_layer multiplies the running dilation by the removed stride, and the *first* block of the
// dilated layer still uses the previous dilation (its input is at the old resolution), the rest the
// new one. torchvision refuses dilation in BasicBlock (ResNet-18/34); here both of its 3x3 convs
// take the block's dilation, the Bottleneck rule applied to each 3x3. Parameters are the same.
#include <memory>
#include <vector>

#include "nn/layers/container.h"
#include "nn/layers/conv.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "seg/models/backbones/backbone.h"

namespace segcore::seg {

// How one residual block is placed: the stride and dilation of its (first) 3x3 conv, and whether
// the identity path needs a 1x1 projection ("downsample": stride or channel change).
struct ResBlockConfig {
    int64_t stride = 1, dilation = 1;
    bool downsample = false;
};

// Two 3x3 convs (ResNet-18/34). Output channels = planes.
class BasicBlock : public nn::Module {
public:
    static constexpr int64_t kExpansion = 1;
    BasicBlock(int64_t inplanes, int64_t planes, ResBlockConfig cfg, TensorOptions opt = {});
    Variable forward(const Variable& x) override;

    std::shared_ptr<nn::Conv2d> conv1, conv2;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
    std::shared_ptr<nn::Sequential> downsample;  // null when the identity needs no projection
};

// 1x1 reduce, 3x3 (stride, dilation), 1x1 expand (ResNet-50/101, torchvision's "ResNet V1.5":
// the stride sits on the 3x3). Output channels = planes * 4.
class Bottleneck : public nn::Module {
public:
    static constexpr int64_t kExpansion = 4;
    Bottleneck(int64_t inplanes, int64_t planes, ResBlockConfig cfg, TensorOptions opt = {});
    Variable forward(const Variable& x) override;

    std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
    std::shared_ptr<nn::Sequential> downsample;
};

struct ResNetConfig {
    int64_t depth = 50;          // 18, 34, 50 or 101
    int64_t output_stride = 32;  // 32, 16 or 8
    int64_t in_channels = 3;
    bool with_classifier = false;  // adds "fc" (torchvision's ImageNet classifier) and forward_classify
    int64_t num_classes = 1000;
};

class ResNet : public Backbone {
public:
    explicit ResNet(ResNetConfig cfg = {}, TensorOptions opt = {});
    // [layer1, layer2, layer3, layer4] outputs.
    std::vector<Variable> forward_features(const Variable& x) override;
    std::vector<FeatureInfo> feature_info() const override { return info_; }
    // ImageNet logits (N, num_classes): global average pool of layer4, then fc. Needs with_classifier.
    Variable forward_classify(const Variable& x);
    std::string extra_repr() const override;

    std::shared_ptr<nn::Conv2d> conv1;
    std::shared_ptr<nn::BatchNorm2d> bn1;  // ReLU fused
    std::shared_ptr<nn::Sequential> layer1, layer2, layer3, layer4;
    std::shared_ptr<nn::Linear> fc;  // null without with_classifier
    const ResNetConfig cfg;

private:
    std::shared_ptr<nn::Sequential> make_layer(int64_t planes, int64_t blocks, int64_t stride, bool dilate,
                                               const TensorOptions& opt);

    bool bottleneck_;
    int64_t inplanes_ = 64, dilation_ = 1, stride_ = 4;  // running state while building, as in torchvision
    std::vector<FeatureInfo> info_;
};

}  // namespace segcore::seg
