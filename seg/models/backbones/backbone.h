#pragma once
// Backbone: an encoder that returns feature maps at several strides for a decoder.
//
//   std::vector<Variable> f = backbone.forward_features(x);   // f[i] has feature_info()[i]
//
// Stages are ordered from the shallowest (smallest stride) to the deepest. Decoders pick what they
// need: FCN/DeepLabv3 the last (and the one before it for the auxiliary head), DeepLabv3+ a
// stride-4 map plus the last, U-Net-like decoders all of them. With dilation instead of stride
// (output stride 8 or 16) the deep stages keep their resolution and feature_info says so.
#include <string>
#include <vector>

#include "nn/module.h"

namespace segcore::seg {

using autograd::Variable;

struct FeatureInfo {
    std::string name;  // the stage's module name, e.g. "layer3" (torchvision's return_layers keys)
    int64_t channels;
    int64_t stride;  // relative to the input (2, 4, 8, ...)
};

class Backbone : public nn::Module {
public:
    using nn::Module::Module;
    virtual std::vector<Variable> forward_features(const Variable& x) = 0;
    virtual std::vector<FeatureInfo> feature_info() const = 0;
    Variable forward(const Variable& x) override { return forward_features(x).back(); }
};

}  // namespace segcore::seg
