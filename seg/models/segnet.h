#pragma once
// SegNet (Badrinarayanan et al. 2017): the 13 convs of VGG16-BN as the encoder and a mirrored
// decoder that up-samples with the encoder's max-pool indices instead of learned filters.
//
//   encoder     VGG16BN (seg/models/backbones/vgg.h): 5 stages of 2, 2, 3, 3, 3 Conv3x3 + BN + ReLU,
//               each followed by MaxPool2d 2x2 whose argmax indices and input size are kept
//   decoder.s   s = 0 (deepest) .. 4: MaxUnpool2d with stage 5 - s's indices to its pre-pool size
//               (so odd inputs come back exactly), then the stage's convs mirrored: ConvBNReLU 3x3
//               C -> C for all but the last, which goes to the next shallower stage's width
//               (3, 3, 3, 2 convs; stage 1's mirror has one ConvBNReLU 64 -> 64 ...)
//   classifier  ... and its second conv is the classifier, Conv3x3 (64 -> num_classes, bias)
// That is the paper's 13 + 13 convs: 29,451,413 parameters for 21 classes (29.45 M in the paper).
//
// State-dict keys:
//   encoder.features.<i>.*         torchvision's vgg16_bn "features" (load its checkpoint with the
//                                  prefix "encoder."), i = 0 .. 42
//   decoder.<s>.<j>.0.weight       conv of ConvBNReLU j of decoder stage s (no bias: BN follows)
//   decoder.<s>.<j>.1.*            its BN (ReLU fused)
//   classifier.weight, classifier.bias
#include <memory>
#include <string>

#include "core/json_reader.h"
#include "nn/layers.h"
#include "seg/models/backbones/vgg.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct SegNetConfig {
    int64_t in_channels = 3;
    int64_t num_classes = 21;
};

class SegNet : public SegModel {
public:
    explicit SegNet(const SegNetConfig& cfg);
    SegOutput forward_seg(const Variable& x) override;
    std::string extra_repr() const override;
    const SegNetConfig cfg;

    std::shared_ptr<VGG16BN> encoder;
    std::shared_ptr<nn::ModuleList> decoder;  // deepest stage first, each a Sequential of ConvBNAct
    std::shared_ptr<nn::Conv2d> classifier;
};

// The registry's builder (no keys of its own beyond num_classes and in_channels).
std::shared_ptr<SegModel> build_segnet(JsonReader& r, int64_t num_classes, int64_t in_channels);

}  // namespace segcore::seg
