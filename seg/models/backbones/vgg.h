#pragma once
// VGG16-BN with torchvision.models.vgg16_bn's layout: one Sequential "features" whose indices are
// torchvision's (Conv2d 3x3 with bias, BatchNorm2d, ReLU per conv; MaxPool2d 2x2/2 per stage), so
// "features.7.weight" is the first conv of stage 2 in both:
//
//   stage  convs           indices  pool index  channels  stride after the pool
//   1      2 x 64          0-5      6           64        2
//   2      2 x 128         7-12     13          128       4
//   3      3 x 256         14-22    23          256       8
//   4      3 x 512         24-32    33          512       16
//   5      3 x 512         34-42    43          512       32
//
// Only the encoder: torchvision's ImageNet classifier (avgpool + three Linear layers, 124 M of its
// 138 M parameters) is not built; segmentation models (FCN, SegNet) use the features alone.
// The ReLUs stay separate modules (not fused into the BN) to keep torchvision's indices.
//
// SegNet needs more than the stage outputs: forward_encoder also returns each pool's argmax
// indices and the shape it pooled, so the decoder can max-unpool back to the exact (odd) size.
#include <memory>
#include <vector>

#include "nn/layers/container.h"
#include "nn/layers/pool.h"
#include "seg/models/backbones/backbone.h"

namespace segcore::seg {

struct VggEncoderOutput {
    std::vector<Variable> features;      // per stage, after its max-pool (strides 2, 4, 8, 16, 32)
    std::vector<Tensor> indices;         // per stage, the pool's argmax (i64, flat h * W + w per plane)
    std::vector<Shape> pre_pool_shapes;  // per stage, the (N, C, H, W) map that was pooled
};

class VGG16BN : public Backbone {
public:
    explicit VGG16BN(int64_t in_channels = 3, TensorOptions opt = {});
    // The five pooled stage outputs (features.6, .13, .23, .33, .43).
    std::vector<Variable> forward_features(const Variable& x) override;
    std::vector<FeatureInfo> feature_info() const override { return info_; }
    VggEncoderOutput forward_encoder(const Variable& x);

    std::shared_ptr<nn::Sequential> features;
    const int64_t in_channels;

private:
    std::vector<std::shared_ptr<nn::MaxPool2d>> pools_;
    std::vector<size_t> pool_indices_;
    std::vector<FeatureInfo> info_;
};

}  // namespace segcore::seg
