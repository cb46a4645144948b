#pragma once
// One entry point for model configs: a backbone by name.
//
//   auto b = seg::make_backbone("resnet50", /*output_stride=*/8);
//
// Names: resnet18, resnet34, resnet50, resnet101 (seg/models/backbones/resnet.h), mobilenetv2
// (mobilenetv2.h), vgg16_bn (vgg.h). output_stride is 32, 16 or 8 (dilation replaces the last
// strides); vgg16_bn has no dilated variant and accepts 32 only. The backbones are built without
// their ImageNet classifiers, so their state dicts are torchvision's minus "fc." / "classifier.".
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "seg/models/backbones/backbone.h"

namespace segcore::seg {

// The names make_backbone accepts, in a fixed order (for error messages and config validation).
const std::vector<std::string>& backbone_names();

// Throws naming the allowed values when the name or output stride is not supported.
std::shared_ptr<Backbone> make_backbone(const std::string& name, int64_t output_stride, int64_t in_channels = 3);

}  // namespace segcore::seg
