#pragma once
// FastSegNet: the real-time network of the seed documents (/work/shared/seeds/002_*: inverted
// residuals, depthwise-separable convs, attention refinement and feature fusion modules, < 5 M
// parameters), designed here as BiSeNet (Yu et al. 2018) with a MobileNetV2 context path whose
// stride-8 features double as the spatial path.
//
//   module            input -> output (channels at width_mult 1; c(x) = make_divisible(x * w, 8))   stride
//   features.0        ConvBNAct 3x3/2, in -> c(32), ReLU6                                             2
//   features.1        InvertedResidual t=1 -> c(16)                                                   2
//   features.2-3      InvertedResidual t=6 -> c(24), first /2                                         4
//   features.4-6      InvertedResidual t=6 -> c(32), first /2          = f8  (spatial detail)         8
//   features.7-10     InvertedResidual t=6 -> c(64), first /2                                         16
//   features.11-13    InvertedResidual t=6 -> c(96)                    = f16                          16
//   features.14-16    InvertedResidual t=6 -> c(160), first /2                                        32
//   features.17       InvertedResidual t=6 -> c(320)                   = f32                          32
//   global_context    global average of f32 -> ConvBNAct 1x1 c(320) -> C, ReLU  (N, C, 1, 1)       -
//   arm32             AttentionRefinementModule c(320) -> C; + global_context (broadcast)            32
//   refine32          bilinear to f16's size, DepthwiseSeparableConv2d C -> C      = ctx32           16
//   arm16             AttentionRefinementModule c(96) -> C; + ctx32                                   16
//   refine16          bilinear to f8's size, DepthwiseSeparableConv2d C -> C       = ctx16           8
//   ffm               FeatureFusionModule(f8 || ctx16: c(32) + C -> C)                                8
//   head              DepthwiseSeparableConv2d C -> H, Conv2d 1x1 H -> classes (bias); bilinear      1
//   aux16, aux32      the head's layout on ctx16 / ctx32, training mode only (o.aux "aux16", "aux32")
//
// C = context_channels (128), H = head_channels (64). The encoder is torchvision's MobileNetV2
// `features` 0..17 with the same keys (its ImageNet weights load into features.*), without the
// 1x1 -> 1280 conv a classifier needs; ARM / FFM carry CoinCheung/BiSeNet's child names
// (nn/layers/blocks.h). BiSeNet's aux heads likewise sit on its two context-path outputs.
//
// Parameters: 2,463,865 (2.46 M) at width_mult 1 with 19 classes, pinned against the PyTorch twin
// (tests/golden/make_realtime_golden.py). The logits come from stride 8, bilinearly upsampled:
// detail finer than ~8 pixels is not representable, as in BiSeNet. Training needs N >= 2
// (BatchNorm over the 1 x 1 global-context and attention vectors).
#include <memory>

#include "core/json_reader.h"
#include "nn/layers.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct FastSegNetConfig {
    int64_t in_channels = 3;
    int64_t num_classes = 19;
    double width_mult = 1.0;         // encoder channels, rounded to multiples of 8
    int64_t context_channels = 128;  // C: ARM, refinement and fusion width
    int64_t head_channels = 64;      // H: hidden width of the segmentation heads
};

class FastSegNet : public SegModel {
public:
    explicit FastSegNet(const FastSegNetConfig& cfg);
    SegOutput forward_seg(const Variable& x) override;
    std::string extra_repr() const override;
    const FastSegNetConfig cfg;

    std::shared_ptr<nn::Sequential> features;

private:
    std::shared_ptr<nn::ConvBNAct> global_context_;
    std::shared_ptr<nn::AttentionRefinementModule> arm32_, arm16_;
    std::shared_ptr<nn::DepthwiseSeparableConv2d> refine32_, refine16_;
    std::shared_ptr<nn::FeatureFusionModule> ffm_;
    std::shared_ptr<nn::Sequential> head_, aux16_, aux32_;
};

// JSON keys: width_mult (number in [0.1, 4], 1.0), context_channels ([8, 1024], 128),
// head_channels ([4, 1024], 64).
std::shared_ptr<SegModel> build_fastsegnet(JsonReader& r, int64_t num_classes, int64_t in_channels);

}  // namespace segcore::seg
