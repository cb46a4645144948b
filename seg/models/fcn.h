#pragma once
// FCN (Long et al. 2015) with torchvision.models.segmentation's layout (fcn_resnet50 /
// fcn_resnet101), so torchvision's state dicts load with strict load_state_dict:
//
//   backbone.*         ResNet without fc (conv1, bn1, layer1..4), output stride 8 by default:
//                      torchvision's replace_stride_with_dilation = [False, True, True]
//   classifier         FCNHead(C_last, num_classes)     on the last stage (layer4: 2048 channels)
//   aux_classifier     FCNHead(C_prev, num_classes)     on the stage before it (layer3: 1024), only
//                      with aux_loss
//   logits             both heads bilinearly up-sampled (align_corners = false) to the input size
//
// FCNHead(in, k) = torchvision's Sequential(Conv3x3 in -> in/4 no bias, BN, ReLU, Dropout(0.1),
// Conv1x1 in/4 -> k). The ReLU is fused into the BN kernel and holds no parameters, so the keys
// are torchvision's: 0.weight, 1.{weight, bias, running_mean, running_var, num_batches_tracked},
// 4.weight, 4.bias (the Dropout is child "3").
//
// Backbones (make_seg_backbone): resnet18/34/50/101 (ResNet-18/34 give 512/256 channels: FCNHead
// widths follow) and mobilenetv2 (last stage features.18, 1280 channels; the aux head sits on
// features.13, the stride-16 stage; keys backbone.features.N.*, ImageNet mobilenet_v2's names,
// where torchvision's MobileNetV3 segmentation models use backbone.N.*). Unlike torchvision,
// which returns "aux" whenever the head exists, SegOutput carries the aux logits in training mode
// only (seg/models/model.h); forward_heads(x, true) computes them in eval mode too (golden tests
// compare them).
//
// JSON (build_fcn): {"name": "fcn", "num_classes": 21, "backbone": "resnet50", "output_stride": 8,
// "aux_loss": false, "width_mult": 1.0 (mobilenetv2 only)}; output_stride is 8, 16 or 32.
#include <memory>
#include <string>
#include <vector>

#include "core/json_reader.h"
#include "nn/layers.h"
#include "seg/models/backbones/backbone.h"
#include "seg/models/model.h"

namespace segcore::seg {

// ---- what FCN and DeepLab share (deeplab.h builds on these) ----

// The backbones FCN / DeepLabv3 / DeepLabv3+ accept: resnet18, resnet34, resnet50, resnet101,
// mobilenetv2 (VGG has no dilated variant).
const std::vector<std::string>& seg_backbone_names();

struct SegBackboneConfig {
    std::string name = "resnet50";
    int64_t output_stride = 8;  // 8, 16 or 32
    int64_t in_channels = 3;
    double width_mult = 1.0;  // mobilenetv2 only (1.0 for the ResNets)
};

// make_backbone plus MobileNetV2's width multiplier; throws naming the allowed values.
std::shared_ptr<Backbone> make_seg_backbone(const SegBackboneConfig& cfg);

// Reads "backbone", "output_stride" (one of `strides`, default `default_stride`) and "width_mult"
// (only with mobilenetv2: an error naming the path otherwise) from a model's JSON.
SegBackboneConfig read_seg_backbone(JsonReader& r, int64_t in_channels, const std::vector<int64_t>& strides,
                                    int64_t default_stride);

// Bilinear (align_corners = false) resize of logits to the (H, W) of `like`.
Variable upsample_like(const Variable& logits, const Variable& like);

class FCNHead : public nn::Module {
public:
    FCNHead(int64_t in_channels, int64_t num_classes);
    Variable forward(const Variable& x) override;

    std::shared_ptr<nn::Conv2d> conv;      // "0"  3x3, in -> in / 4, no bias
    std::shared_ptr<nn::BatchNorm2d> bn;   // "1"  ReLU fused ("2" in torchvision, no parameters)
    std::shared_ptr<nn::Dropout> dropout;  // "3"  p = 0.1
    std::shared_ptr<nn::Conv2d> cls;       // "4"  1x1, in / 4 -> num_classes, with bias
};

// torchvision's _SimpleSegmentationModel: backbone, classifier on the last stage, optional
// FCNHead aux_classifier on the stage before; both up-sampled to the input. FCN and DeepLabV3
// differ only in the classifier they register; DeepLabV3Plus also overrides classify (its head
// takes a stride-4 stage too).
class SimpleSegmentationModel : public SegModel {
public:
    // aux logits in training mode only (when the model has an aux head).
    SegOutput forward_seg(const Variable& x) override;
    // with_aux: also the aux logits, whatever the mode (needs an aux head).
    SegOutput forward_heads(const Variable& x, bool with_aux);

    std::shared_ptr<Backbone> backbone;
    std::shared_ptr<nn::Module> classifier;
    std::shared_ptr<FCNHead> aux_classifier;  // null without aux_loss

protected:
    // Builds and registers the backbone; the subclass then calls set_heads.
    SimpleSegmentationModel(std::string type_name, int64_t num_classes, const SegBackboneConfig& backbone_cfg);
    // Registers "classifier", then "aux_classifier" (FCNHead on the stage before the last) when
    // aux_loss: torchvision's state-dict order, which formula weights depend on.
    void set_heads(std::shared_ptr<nn::Module> classifier, bool aux_loss);
    int64_t last_channels() const { return backbone->feature_info().back().channels; }
    // The classifier's logits (at feature resolution) from every backbone stage.
    virtual Variable classify(const std::vector<Variable>& features);

private:
    int64_t in_channels_;
};

struct FCNConfig {
    int64_t num_classes = 21;
    SegBackboneConfig backbone;  // resnet50 at output stride 8, torchvision's fcn_resnet50
    bool aux_loss = false;
};

class FCN : public SimpleSegmentationModel {
public:
    explicit FCN(const FCNConfig& cfg);
    std::string extra_repr() const override;
    const FCNConfig cfg;
};

std::shared_ptr<SegModel> build_fcn(JsonReader& r, int64_t num_classes, int64_t in_channels);

}  // namespace segcore::seg
