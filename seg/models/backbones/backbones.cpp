#include "seg/models/backbones/backbones.h"

#include <algorithm>

#include "core/error.h"
#include "seg/models/backbones/mobilenetv2.h"
#include "seg/models/backbones/resnet.h"
#include "seg/models/backbones/vgg.h"

namespace segcore::seg {

const std::vector<std::string>& backbone_names() {
    static const std::vector<std::string> names = {"resnet18",  "resnet34",    "resnet50",
                                                   "resnet101", "mobilenetv2", "vgg16_bn"};
    return names;
}

namespace {

std::string joined_names() {
    std::string s;
    for (const std::string& n : backbone_names()) s += (s.empty() ? "" : ", ") + n;
    return s;
}

}  // namespace

std::shared_ptr<Backbone> make_backbone(const std::string& name, int64_t output_stride, int64_t in_channels) {
    const auto& names = backbone_names();
    SEGCORE_CHECK(std::find(names.begin(), names.end(), name) != names.end(), "unknown backbone '", name,
                  "'; allowed: ", joined_names());
    SEGCORE_CHECK(output_stride == 32 || output_stride == 16 || output_stride == 8, "backbone '", name,
                  "': output_stride must be 32, 16 or 8, got ", output_stride);
    if (name == "resnet18" || name == "resnet34" || name == "resnet50" || name == "resnet101") {
        const int64_t depth = std::stoll(name.substr(6));
        return std::make_shared<ResNet>(
            ResNetConfig{.depth = depth, .output_stride = output_stride, .in_channels = in_channels});
    }
    if (name == "mobilenetv2")
        return std::make_shared<MobileNetV2>(
            MobileNetV2Config{.output_stride = output_stride, .in_channels = in_channels});
    if (name == "vgg16_bn") {
        SEGCORE_CHECK(output_stride == 32, "backbone 'vgg16_bn' has no dilated variant: output_stride must be 32, got ",
                      output_stride);
        return std::make_shared<VGG16BN>(in_channels);
    }
    SEGCORE_THROW("make_backbone: '", name, "' is listed in backbone_names() but not built here");
}

}  // namespace segcore::seg
