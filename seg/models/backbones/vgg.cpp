#include "seg/models/backbones/vgg.h"

#include "core/error.h"
#include "nn/layers/activation.h"
#include "nn/layers/conv.h"
#include "nn/layers/norm.h"

namespace segcore::seg {

namespace {

constexpr int64_t kPool = 0;
// torchvision's cfgs["D"]: conv widths, kPool for a max-pool; one line per stage.
// clang-format off
const int64_t kConfigD[] = {64, 64, kPool,
                            128, 128, kPool,
                            256, 256, 256, kPool,
                            512, 512, 512, kPool,
                            512, 512, 512, kPool};
// clang-format on

}  // namespace

VGG16BN::VGG16BN(int64_t in_ch, TensorOptions opt) : Backbone("VGG"), in_channels(in_ch) {
    SEGCORE_CHECK(in_ch > 0, "VGG16BN: in_channels must be positive, got ", in_ch);
    features = register_module("features", std::make_shared<nn::Sequential>());
    int64_t c = in_ch, stride = 1;
    for (const int64_t v : kConfigD) {
        if (v == kPool) {
            auto pool = std::make_shared<nn::MaxPool2d>(2);
            pool_indices_.push_back(features->size());
            pools_.push_back(pool);
            stride *= 2;
            info_.push_back({"features." + std::to_string(features->size()), c, stride});
            features->push_back(pool);
            continue;
        }
        features->push_back(std::make_shared<nn::Conv2d>(c, v, 3, nn::Conv2dConfig{.padding = 1}, opt));
        features->push_back(std::make_shared<nn::BatchNorm2d>(v, nn::BatchNormConfig{}, opt));
        features->push_back(std::make_shared<nn::ReLU>());
        c = v;
    }
}

VggEncoderOutput VGG16BN::forward_encoder(const Variable& x) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == in_channels, "VGG16BN: expected input (N, ", in_channels,
                  ", H, W), got ", shape_str(x.shape()));
    VggEncoderOutput out;
    Variable y = x;
    size_t stage = 0;
    for (size_t i = 0; i < features->size(); ++i) {
        if (stage < pool_indices_.size() && pool_indices_[stage] == i) {
            out.pre_pool_shapes.push_back(y.shape());
            auto [pooled, indices] = pools_[stage]->forward_with_indices(y);
            y = pooled;
            out.features.push_back(y);
            out.indices.push_back(std::move(indices));
            ++stage;
        } else {
            y = (*features)[i](y);
        }
    }
    return out;
}

std::vector<Variable> VGG16BN::forward_features(const Variable& x) { return forward_encoder(x).features; }

}  // namespace segcore::seg
