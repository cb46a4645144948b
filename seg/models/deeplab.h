#pragma once
// DeepLabv3 (Chen et al. 2017) and DeepLabv3+ (Chen et al. 2018).
//
// DeepLabV3 has torchvision.models.segmentation's layout (deeplabv3_resnet50 / _resnet101), so
// torchvision's state dicts load with strict load_state_dict:
//
//   backbone.*         ResNet without fc at output stride 8 (or 16), or MobileNetV2
//   classifier         DeepLabHead = torchvision's Sequential(ASPP(C_last, rates), Conv3x3 256 -> 256
//                      no bias, BN, ReLU, Conv1x1 256 -> num_classes): keys classifier.0.convs.*,
//                      classifier.0.project.*, classifier.1.weight, classifier.2.*, classifier.4.*
//                      (the ReLU, "3", is fused into the BN and has no parameters)
//   aux_classifier     FCNHead(C_prev) on the stage before the last (layer3), with aux_loss
//
// ASPP rates default to {12, 24, 36} at output stride 8 (torchvision's) and {6, 12, 18} at 16.
//
// DeepLabV3Plus: the same backbones, ASPP on the last stage and a decoder on the stride-4 stage
// (ResNet layer1, MobileNetV2 features.3). torchvision has no DeepLabv3+, so the names are ours:
//
//   backbone.*                 as above
//   classifier.aspp            ASPP(C_last, rates, channels)            keys as torchvision's ASPP
//   classifier.low_level       ConvBNAct 1x1, C_low -> 48 (+ ReLU)      classifier.low_level.{0.weight, 1.*}
//   classifier.fuse            Sequential of two ConvBNAct 3x3 (+ ReLU): channels + 48 -> channels,
//                              channels -> channels                     classifier.fuse.{0,1}.{0.weight, 1.*}
//   classifier.cls             Conv1x1 channels -> num_classes (bias)   classifier.cls.{weight, bias}
//   aux_classifier             FCNHead(C_prev), with aux_loss
//
// The ASPP output is resized bilinearly to the stride-4 map's size (not x4: odd inputs round), then
// concatenated after the reduced low-level map, [aspp, low_level], fused and classified; logits
// are resized to the input. Default output stride 16 with rates {6, 12, 18}, doubled at 8.
// channels = 256 as in the paper; smaller values make small models.
//
// JSON: {"name": "deeplabv3", "backbone": "resnet50", "output_stride": 8, "aux_loss": false,
//        "aspp_rates": [12, 24, 36], "width_mult": 1.0 (mobilenetv2 only)}
//       {"name": "deeplabv3plus", ... "output_stride": 16, "channels": 256, "low_level_channels": 48}
// output_stride is 8 or 16; aspp_rates defaults by output stride when absent.
#include <memory>
#include <vector>

#include "seg/models/fcn.h"

namespace segcore::seg {

// {12, 24, 36} at output stride 8, {6, 12, 18} at 16.
std::vector<int64_t> default_aspp_rates(int64_t output_stride);

// torchvision's DeepLabHead; children "0" (ASPP), "1" (conv), "2" (BN + ReLU), "4" (classifier conv).
class DeepLabHead : public nn::Module {
public:
    DeepLabHead(int64_t in_channels, int64_t num_classes, std::vector<int64_t> atrous_rates);
    Variable forward(const Variable& x) override;

    std::shared_ptr<nn::ASPP> aspp;
    std::shared_ptr<nn::Conv2d> conv;
    std::shared_ptr<nn::BatchNorm2d> bn;
    std::shared_ptr<nn::Conv2d> cls;
};

struct DeepLabV3Config {
    int64_t num_classes = 21;
    SegBackboneConfig backbone;       // resnet50 at output stride 8, torchvision's deeplabv3_resnet50
    std::vector<int64_t> aspp_rates;  // empty: default_aspp_rates(output stride)
    bool aux_loss = false;
};

class DeepLabV3 : public SimpleSegmentationModel {
public:
    explicit DeepLabV3(const DeepLabV3Config& cfg);
    std::string extra_repr() const override;
    const DeepLabV3Config cfg;
};

// The DeepLabv3+ decoder with its ASPP. Two inputs, so it has its own forward and is called from
// DeepLabV3Plus::classify (its children still run through operator()).
class DeepLabV3PlusHead : public nn::Module {
public:
    DeepLabV3PlusHead(int64_t high_channels, int64_t low_channels, int64_t num_classes,
                      std::vector<int64_t> atrous_rates, int64_t channels = 256, int64_t low_level_channels = 48);
    using nn::Module::forward;  // the single-input one, which throws
    // low: the stride-4 stage; high: the last stage. Logits at low's resolution.
    Variable forward(const Variable& low, const Variable& high);

    std::shared_ptr<nn::ASPP> aspp;
    std::shared_ptr<nn::ConvBNAct> low_level;
    std::shared_ptr<nn::Sequential> fuse;
    std::shared_ptr<nn::Conv2d> cls;
};

struct DeepLabV3PlusConfig {
    int64_t num_classes = 21;
    SegBackboneConfig backbone{.output_stride = 16};
    std::vector<int64_t> aspp_rates;  // empty: default_aspp_rates(output stride)
    int64_t channels = 256;           // ASPP and decoder width
    int64_t low_level_channels = 48;  // the stride-4 map after its 1x1 reduction
    bool aux_loss = false;
};

class DeepLabV3Plus : public SimpleSegmentationModel {
public:
    explicit DeepLabV3Plus(const DeepLabV3PlusConfig& cfg);
    std::string extra_repr() const override;
    const DeepLabV3PlusConfig cfg;

protected:
    Variable classify(const std::vector<Variable>& features) override;

private:
    size_t low_index_;  // the stride-4 stage in forward_features' list
};

std::shared_ptr<SegModel> build_deeplabv3(JsonReader& r, int64_t num_classes, int64_t in_channels);
std::shared_ptr<SegModel> build_deeplabv3plus(JsonReader& r, int64_t num_classes, int64_t in_channels);

}  // namespace segcore::seg
