#include "seg/models/segnet.h"

#include <iterator>

#include "core/error.h"

namespace segcore::seg {

namespace F = segcore::autograd;

namespace {

// Convs per VGG16 stage, shallowest first (torchvision's cfgs["D"], as built by VGG16BN).
const int64_t kStageConvs[] = {2, 2, 3, 3, 3};

}  // namespace

SegNet::SegNet(const SegNetConfig& c) : SegModel("SegNet", c.num_classes), cfg(c) {
    SEGCORE_CHECK(c.in_channels >= 1 && c.num_classes >= 1, "SegNet: in_channels and num_classes must be >= 1");
    encoder = register_module("encoder", std::make_shared<VGG16BN>(c.in_channels));
    const std::vector<FeatureInfo> info = encoder->feature_info();
    SEGCORE_CHECK(info.size() == std::size(kStageConvs), "SegNet: expected ", std::size(kStageConvs),
                  " encoder stages, got ", info.size());
    decoder = register_module("decoder", std::make_shared<nn::ModuleList>());
    // Decoder stage s mirrors encoder stage k = 4 - s: its convs in reverse, so the last one
    // leaves at the width of stage k - 1 (stage 1's last conv is the classifier, built below).
    for (int64_t k = int64_t(info.size()) - 1; k >= 0; --k) {
        const int64_t width = info[k].channels;
        const int64_t convs = k == 0 ? kStageConvs[k] - 1 : kStageConvs[k];
        auto stage = std::make_shared<nn::Sequential>();
        for (int64_t j = 0; j < convs; ++j) {
            const int64_t out = (k > 0 && j == convs - 1) ? info[k - 1].channels : width;
            stage->push_back(std::make_shared<nn::ConvBNAct>(width, out, 3));
        }
        decoder->push_back(stage);
    }
    classifier = register_module(
        "classifier", std::make_shared<nn::Conv2d>(info[0].channels, c.num_classes, 3, nn::Conv2dConfig{.padding = 1}));
}

SegOutput SegNet::forward_seg(const Variable& x) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == cfg.in_channels, "SegNet: expected (N, ", cfg.in_channels,
                  ", H, W) input, got ", shape_str(x.shape()));
    SEGCORE_CHECK(x.size(2) >= 32 && x.size(3) >= 32, "SegNet: input ", shape_str(x.shape()),
                  " is too small for 5 max-pools of 2x2 (needs H, W >= 32)");
    const VggEncoderOutput e = encoder->forward_encoder(x);
    Variable y = e.features.back();
    for (size_t s = 0; s < decoder->size(); ++s) {
        const size_t k = e.indices.size() - 1 - s;
        // Unpooling to the recorded pre-pool size restores the row/column that flooring dropped.
        y = F::max_unpool2d(y, e.indices[k], e.pre_pool_shapes[k][2], e.pre_pool_shapes[k][3]);
        y = (*decoder)[s](y);
    }
    return {(*classifier)(y), {}, {}};
}

std::string SegNet::extra_repr() const {
    return "in_channels=" + std::to_string(cfg.in_channels) + ", num_classes=" + std::to_string(cfg.num_classes);
}

std::shared_ptr<SegModel> build_segnet(JsonReader& r, int64_t num_classes, int64_t in_channels) {
    SegNetConfig c;
    c.num_classes = num_classes;
    c.in_channels = in_channels;
    r.finish();
    return std::make_shared<SegNet>(c);
}

}  // namespace segcore::seg
