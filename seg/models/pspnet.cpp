#include "seg/models/pspnet.h"

#include <algorithm>

#include "core/error.h"
#include "seg/models/backbones/backbones.h"

namespace segcore::seg {

namespace F = segcore::autograd;

namespace {

const std::vector<std::string> kBackbones = {"resnet18", "resnet34", "resnet50", "resnet101"};

// semseg's head: Conv3x3 (no bias: BN follows), BN, ReLU, Dropout2d, Conv1x1 with bias. The ReLU
// is its own module rather than fused into the BN so the classifier keeps semseg's index 4.
std::shared_ptr<nn::Sequential> head(int64_t in, int64_t mid, int64_t classes, double dropout) {
    return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Conv2d>(in, mid, 3, nn::Conv2dConfig{.padding = 1, .bias = false}),
        std::make_shared<nn::BatchNorm2d>(mid), std::make_shared<nn::ReLU>(), std::make_shared<nn::Dropout2d>(dropout),
        std::make_shared<nn::Conv2d>(mid, classes, 1)});
}

Variable resize_to_input(const Variable& y, const Variable& x, bool align_corners) {
    return F::interpolate(
        y, ops::InterpolateOptions::size(x.size(2), x.size(3), kernels::InterpMode::Bilinear, align_corners));
}

}  // namespace

PSPNet::PSPNet(const PSPNetConfig& c) : SegModel("PSPNet", c.num_classes), cfg(c) {
    SEGCORE_CHECK(std::find(kBackbones.begin(), kBackbones.end(), c.backbone) != kBackbones.end(),
                  "PSPNet: backbone must be one of ", join_strings(kBackbones), ", got '", c.backbone, "'");
    SEGCORE_CHECK(c.output_stride == 8 || c.output_stride == 16, "PSPNet: output_stride must be 8 or 16, got ",
                  c.output_stride);
    SEGCORE_CHECK(c.in_channels >= 1 && c.num_classes >= 1, "PSPNet: in_channels and num_classes must be >= 1");
    SEGCORE_CHECK(c.dropout >= 0.0 && c.dropout < 1.0, "PSPNet: dropout must be in [0, 1), got ", c.dropout);
    backbone = register_module("backbone", make_backbone(c.backbone, c.output_stride, c.in_channels));
    const std::vector<FeatureInfo> info = backbone->feature_info();
    ppm = register_module("ppm",
                          std::make_shared<nn::PyramidPoolingModule>(info.back().channels, c.bins, c.align_corners));
    cls = register_module("cls", head(ppm->out_channels(), 512, c.num_classes, c.dropout));
    aux_stage_ = info.size() - 2;  // layer3, the stage before the last
    SEGCORE_CHECK(info[aux_stage_].name == "layer3", "PSPNet: expected layer3 before the last backbone stage, got ",
                  info[aux_stage_].name);
    if (c.aux) aux = register_module("aux", head(info[aux_stage_].channels, 256, c.num_classes, c.dropout));
}

SegOutput PSPNet::forward_seg(const Variable& x) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == cfg.in_channels, "PSPNet: expected (N, ", cfg.in_channels,
                  ", H, W) input, got ", shape_str(x.shape()));
    const std::vector<Variable> f = backbone->forward_features(x);
    SegOutput o;
    o.out = resize_to_input((*cls)((*ppm)(f.back())), x, cfg.align_corners);
    // The auxiliary head only feeds the training loss; skipping it in eval saves its compute.
    if (aux && is_training()) o.aux.emplace_back("aux", resize_to_input((*aux)(f[aux_stage_]), x, cfg.align_corners));
    return o;
}

std::string PSPNet::extra_repr() const {
    std::string bins;
    for (int64_t b : cfg.bins) {
        if (!bins.empty()) bins += ",";
        bins += std::to_string(b);
    }
    return "backbone=" + cfg.backbone + ", output_stride=" + std::to_string(cfg.output_stride) +
           ", num_classes=" + std::to_string(cfg.num_classes) + ", bins=" + bins +
           ", aux=" + (cfg.aux ? "true" : "false");
}

std::shared_ptr<SegModel> build_pspnet(JsonReader& r, int64_t num_classes, int64_t in_channels) {
    PSPNetConfig c;
    c.num_classes = num_classes;
    c.in_channels = in_channels;
    c.backbone = r.string("backbone", c.backbone, kBackbones);
    c.output_stride = r.integer_choice("output_stride", c.output_stride, {8, 16});
    c.bins = r.integers("bins", c.bins, 1, 64);
    SEGCORE_CHECK(!c.bins.empty(), r.path_of("bins"), ": needs at least one bin size");
    c.dropout = r.number("dropout", c.dropout, 0.0, 0.9);
    c.aux = r.boolean("aux", c.aux);
    c.align_corners = r.boolean("align_corners", c.align_corners);
    r.finish();
    return std::make_shared<PSPNet>(c);
}

}  // namespace segcore::seg
