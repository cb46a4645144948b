#include "seg/models/fcn.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "seg/models/backbones/backbones.h"
#include "seg/models/backbones/mobilenetv2.h"

namespace segcore::seg {

// ---- shared with DeepLab ----

const std::vector<std::string>& seg_backbone_names() {
    static const std::vector<std::string> names = {"resnet18", "resnet34", "resnet50", "resnet101", "mobilenetv2"};
    return names;
}

std::shared_ptr<Backbone> make_seg_backbone(const SegBackboneConfig& c) {
    const auto& names = seg_backbone_names();
    SEGCORE_CHECK(std::find(names.begin(), names.end(), c.name) != names.end(), "segmentation backbone: unknown '",
                  c.name, "'; allowed: ", join_strings(names));
    if (c.name == "mobilenetv2") {
        // make_backbone has no width multiplier; the output stride is checked by MobileNetV2 itself.
        return std::make_shared<MobileNetV2>(MobileNetV2Config{
            .output_stride = c.output_stride, .in_channels = c.in_channels, .width_mult = c.width_mult});
    }
    SEGCORE_CHECK(c.width_mult == 1.0, "segmentation backbone '", c.name,
                  "': width_mult applies to mobilenetv2 only, got ", c.width_mult);
    return make_backbone(c.name, c.output_stride, c.in_channels);
}

SegBackboneConfig read_seg_backbone(JsonReader& r, int64_t in_channels, const std::vector<int64_t>& strides,
                                    int64_t default_stride) {
    SegBackboneConfig c;
    c.in_channels = in_channels;
    c.name = r.string("backbone", c.name, seg_backbone_names());
    c.output_stride = r.integer_choice("output_stride", default_stride, strides);
    SEGCORE_CHECK(!r.has("width_mult") || c.name == "mobilenetv2", r.path_of("width_mult"),
                  ": only the mobilenetv2 backbone has a width multiplier (backbone is \"", c.name, "\")");
    c.width_mult = r.number("width_mult", 1.0, 0.1, 4.0);
    return c;
}

Variable upsample_like(const Variable& logits, const Variable& like) {
    return nn::functional::resize_bilinear(logits, like.size(2), like.size(3));
}

// ---- FCNHead ----

FCNHead::FCNHead(int64_t in, int64_t num_classes) : nn::Module("FCNHead") {
    const int64_t inter = in / 4;
    SEGCORE_CHECK(inter >= 1 && num_classes >= 1, "FCNHead: needs in_channels >= 4 and num_classes >= 1, got ", in,
                  " and ", num_classes);
    // Child names are torchvision's Sequential indices; "2" is its ReLU, fused into the BN here.
    conv =
        register_module("0", std::make_shared<nn::Conv2d>(in, inter, 3, nn::Conv2dConfig{.padding = 1, .bias = false}));
    bn = register_module("1", std::make_shared<nn::BatchNorm2d>(inter, nn::BatchNormConfig{.act = kernels::Act::Relu}));
    dropout = register_module("3", std::make_shared<nn::Dropout>(0.1));
    cls = register_module("4", std::make_shared<nn::Conv2d>(inter, num_classes, 1));
}

Variable FCNHead::forward(const Variable& x) { return (*cls)((*dropout)((*bn)((*conv)(x)))); }

// ---- SimpleSegmentationModel ----

SimpleSegmentationModel::SimpleSegmentationModel(std::string type_name, int64_t num_classes, const SegBackboneConfig& b)
    : SegModel(std::move(type_name), num_classes), in_channels_(b.in_channels) {
    backbone = register_module("backbone", make_seg_backbone(b));
}

void SimpleSegmentationModel::set_heads(std::shared_ptr<nn::Module> head, bool aux_loss) {
    classifier = register_module("classifier", std::move(head));
    if (aux_loss) {
        const std::vector<FeatureInfo> info = backbone->feature_info();
        aux_classifier =
            register_module("aux_classifier", std::make_shared<FCNHead>(info[info.size() - 2].channels, num_classes()));
    }
}

SegOutput SimpleSegmentationModel::forward_heads(const Variable& x, bool with_aux) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == in_channels_, type_name(), ": expected an input (N, ", in_channels_,
                  ", H, W), got ", shape_str(x.shape()));
    SEGCORE_CHECK(!with_aux || aux_classifier, type_name(), ": built without aux_loss, so it has no aux head");
    // forward_features returns every stage at once (the backbone's layers still run through
    // operator(), so hooks see them); the heads take the last one and the one before it.
    const std::vector<Variable> f = backbone->forward_features(x);
    SegOutput o;
    o.out = upsample_like(classify(f), x);
    if (with_aux) o.aux.emplace_back("aux", upsample_like((*aux_classifier)(f[f.size() - 2]), x));
    return o;
}

Variable SimpleSegmentationModel::classify(const std::vector<Variable>& features) {
    return (*classifier)(features.back());
}

SegOutput SimpleSegmentationModel::forward_seg(const Variable& x) {
    return forward_heads(x, is_training() && aux_classifier != nullptr);
}

// ---- FCN ----

FCN::FCN(const FCNConfig& c) : SimpleSegmentationModel("FCN", c.num_classes, c.backbone), cfg(c) {
    set_heads(std::make_shared<FCNHead>(last_channels(), c.num_classes), c.aux_loss);
}

std::string FCN::extra_repr() const {
    std::ostringstream os;
    os << "backbone=" << cfg.backbone.name << ", output_stride=" << cfg.backbone.output_stride
       << ", num_classes=" << cfg.num_classes << ", aux_loss=" << (cfg.aux_loss ? "true" : "false");
    return os.str();
}

std::shared_ptr<SegModel> build_fcn(JsonReader& r, int64_t num_classes, int64_t in_channels) {
    FCNConfig c;
    c.num_classes = num_classes;
    c.backbone = read_seg_backbone(r, in_channels, {8, 16, 32}, 8);
    c.aux_loss = r.boolean("aux_loss", c.aux_loss);
    r.finish();
    return std::make_shared<FCN>(c);
}

}  // namespace segcore::seg
