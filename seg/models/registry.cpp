#include "seg/models/registry.h"

#include "core/error.h"
#include "seg/models/deeplab.h"
#include "seg/models/enet.h"
#include "seg/models/fastsegnet.h"
#include "seg/models/fcn.h"
#include "seg/models/pspnet.h"
#include "seg/models/segnet.h"
#include "seg/models/siamese_unet.h"
#include "seg/models/unet.h"

namespace segcore::seg {

namespace {

std::shared_ptr<SegModel> build_unet(JsonReader& r, int64_t num_classes, int64_t in_channels) {
    UNetConfig c;
    c.num_classes = num_classes;
    c.in_channels = in_channels;
    c.depth = r.integer("depth", c.depth, 1, 8);
    c.base_width = r.integer("base_width", c.base_width, 1, 1024);
    c.bilinear = r.boolean("bilinear", c.bilinear);
    r.finish();
    return std::make_shared<UNet>(c);
}

}  // namespace

const std::vector<ModelEntry>& model_registry() {
    static const std::vector<ModelEntry> table = {
        {"unet", "U-Net with batch norm; depth, base_width, bilinear or transposed-conv up-sampling", build_unet},
        {"siamese_unet", "weight-sharing two-view U-Net with a feature-consistency term; depth, base_width, bilinear, consistency",
         build_siamese_unet},
        {"enet", "ENet (davidtvs/PyTorch-ENet layout); encoder_relu, decoder_relu", build_enet},
        {"fcn", "FCN, torchvision's layout: dilated ResNet/MobileNetV2, FCNHead, optional aux head", build_fcn},
        {"deeplabv3", "DeepLabv3, torchvision's layout: dilated backbone, ASPP head, optional aux head", build_deeplabv3},
        {"deeplabv3plus", "DeepLabv3+: ASPP on the last stage, decoder on the stride-4 stage", build_deeplabv3plus},
        {"pspnet", "PSPNet: dilated ResNet (resnet18/34/50/101, output stride 8/16), pyramid pooling, aux head on layer3",
         build_pspnet},
        {"segnet", "SegNet: VGG16-BN encoder, decoder up-sampling with the max-pool indices", build_segnet},
        {"fastsegnet", "real-time BiSeNet-style net on a MobileNetV2 encoder; width_mult, context_channels, head_channels",
         build_fastsegnet},
    };
    return table;
}

std::vector<std::string> model_names() {
    std::vector<std::string> n;
    for (const ModelEntry& e : model_registry()) n.push_back(e.name);
    return n;
}

std::shared_ptr<SegModel> build_model(const nlohmann::json& spec, const std::string& path) {
    JsonReader r(spec, path);
    const std::string name = r.required_string("name", model_names());
    SEGCORE_CHECK(r.has("num_classes"), r.path_of("num_classes"), ": missing (the number of classes the model predicts)");
    const int64_t num_classes = r.integer("num_classes", 0, 1, 4096);
    const int64_t in_channels = r.integer("in_channels", 3, 1, 1024);
    for (const ModelEntry& e : model_registry())
        if (e.name == name) return e.build(r, num_classes, in_channels);
    SEGCORE_THROW("unreachable: ", name);
}

}  // namespace segcore::seg
