#pragma once
// PSPNet (Zhao et al. 2017, "Pyramid Scene Parsing Network") laid out like hszhao/semseg's PSPNet:
//
//   backbone  dilated ResNet (resnet18/34/50/101), output stride 8 (default) or 16
//   ppm       PyramidPoolingModule on layer4 (bins 1, 2, 3, 6): C -> 2C channels
//   cls       Conv3x3 (2C -> 512, no bias), BN, ReLU, Dropout2d(0.1), Conv1x1 (512 -> classes)
//   aux       on layer3: Conv3x3 (-> 256, no bias), BN, ReLU, Dropout2d(0.1), Conv1x1 (-> classes);
//             its logits are returned as "aux" in training mode only (semseg weights them by 0.4)
//   logits of both heads are resized bilinearly to the input's H x W
//
// State-dict keys:
//   backbone.conv1.weight, backbone.bn1.*, backbone.layer1..4.*   torchvision's ResNet without fc
//   ppm.stages.<i>.1.weight, ppm.stages.<i>.2.*                   (nn::PyramidPoolingModule)
//   cls.0.weight, cls.1.*, cls.4.weight, cls.4.bias               semseg's indices (2 = ReLU, 3 = Dropout2d)
//   aux.0.weight, aux.1.*, aux.4.weight, aux.4.bias               only with cfg.aux
// Differences from semseg: the backbone is torchvision's ResNet (7x7 stem; semseg uses a deep
// 3x3-conv stem named layer0), the PPM list is "stages" (semseg: "features"), and bilinear
// resizing uses align_corners = false unless cfg.align_corners (semseg uses true, with inputs of
// size 8k + 1 such as 473 or 713).
#include <memory>
#include <string>
#include <vector>

#include "core/json_reader.h"
#include "nn/layers.h"
#include "seg/models/backbones/backbone.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct PSPNetConfig {
    int64_t in_channels = 3;
    int64_t num_classes = 21;
    std::string backbone = "resnet50";  // resnet18, resnet34, resnet50 or resnet101
    int64_t output_stride = 8;          // 8 or 16
    std::vector<int64_t> bins = {1, 2, 3, 6};
    double dropout = 0.1;  // Dropout2d before each head's classifier
    bool aux = true;       // build the auxiliary head on layer3 (training loss only)
    bool align_corners = false;
};

class PSPNet : public SegModel {
public:
    explicit PSPNet(const PSPNetConfig& cfg);
    SegOutput forward_seg(const Variable& x) override;
    std::string extra_repr() const override;
    const PSPNetConfig cfg;

    std::shared_ptr<Backbone> backbone;
    std::shared_ptr<nn::PyramidPoolingModule> ppm;
    std::shared_ptr<nn::Sequential> cls, aux;  // aux is null without cfg.aux

private:
    size_t aux_stage_ = 0;  // index of layer3 in backbone->forward_features()
};

// The registry's builder: keys backbone, output_stride, bins, dropout, aux, align_corners.
std::shared_ptr<SegModel> build_pspnet(JsonReader& r, int64_t num_classes, int64_t in_channels);

}  // namespace segcore::seg
