#pragma once
// MobileNetV2 with torchvision.models.mobilenet_v2's layout and parameter names:
//
//   features.0       ConvBNAct 3x3/2, 3 -> 32, ReLU6                         stride 2
//   features.1..17   InvertedResidual per (t, c, n, s) of the setting below
//   features.18      ConvBNAct 1x1, 320 -> 1280, ReLU6
//   classifier.1     Linear(1280, num_classes) after Dropout ("classifier.0"), only with_classifier
//
//   t  c    n  s     feature indices   stride
//   1  16   1  1     1                 2
//   6  24   2  2     2-3               4
//   6  32   3  2     4-6               8
//   6  64   4  2     7-10              16
//   6  96   3  1     11-13             16
//   6  160  3  2     14-16             32
//   6  320  1  1     17                32
//
// Channels scale with width_mult (rounded to multiples of round_nearest, torchvision's
// _make_divisible); the last conv never shrinks below 1280.
//
// forward_features returns the last feature of each resolution: features.1 (stride 2),
// features.3 (4), features.6 (8), features.13 (16) and features.18 (32) — the whole of
// torchvision's `features`, as its MobileNet segmentation models consume it; DeepLabv3+ takes
// features.3 as its stride-4 low-level map.
//
// Output stride 16 or 8 (DeepLab): torchvision has no dilated MobileNetV2, so this follows the
// DeepLabv3+ implementations: once the running stride reaches output_stride, a stage's stride 2
// becomes 1 and the dilation of the depthwise convs is multiplied by 2 from then on; as in
// ResNet's _make_layer, the first block of that stage keeps the previous dilation. Parameters are
// unchanged, so torchvision's ImageNet weights still load.
#include <memory>
#include <vector>

#include "nn/layers/container.h"
#include "seg/models/backbones/backbone.h"

namespace segcore::seg {

struct MobileNetV2Config {
    int64_t output_stride = 32;  // 32, 16 or 8
    int64_t in_channels = 3;
    double width_mult = 1.0;
    int64_t round_nearest = 8;
    bool with_classifier = false;  // adds "classifier" (Dropout, Linear) and forward_classify
    int64_t num_classes = 1000;
    double dropout = 0.2;
};

// torchvision's _make_divisible (from the TF MobileNet code): v rounded to the nearest multiple of
// divisor, at least divisor, and never more than 10% below v.
int64_t make_divisible(double v, int64_t divisor);

class MobileNetV2 : public Backbone {
public:
    explicit MobileNetV2(MobileNetV2Config cfg = {}, TensorOptions opt = {});
    std::vector<Variable> forward_features(const Variable& x) override;
    std::vector<FeatureInfo> feature_info() const override { return info_; }
    // ImageNet logits (N, num_classes): global average pool of features.18, dropout, linear.
    Variable forward_classify(const Variable& x);
    std::string extra_repr() const override;

    std::shared_ptr<nn::Sequential> features;
    std::shared_ptr<nn::Sequential> classifier;  // null without with_classifier
    const MobileNetV2Config cfg;

private:
    std::vector<FeatureInfo> info_;
    std::vector<size_t> stage_ends_;  // feature indices whose outputs forward_features returns
};

}  // namespace segcore::seg
