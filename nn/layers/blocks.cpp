#include "nn/layers/blocks.h"

#include "core/error.h"

namespace segcore::nn {

namespace F = segcore::autograd;

namespace {

constexpr BatchNormConfig kBnRelu{.act = kernels::Act::Relu};

// Sequential(conv "0" without bias, BN + ReLU "1"): torchvision's Sequential(conv, bn, relu) keys.
std::shared_ptr<Sequential> conv_bn_relu(int64_t in, int64_t out, int64_t k, Conv2dConfig cfg = {}) {
    cfg.bias = false;
    return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
        std::make_shared<Conv2d>(in, out, k, cfg), std::make_shared<BatchNorm2d>(out, kBnRelu)});
}

// Bilinear resize of a branch back to the input's H x W (what PSP and ASPP do to pooled maps).
Variable resize_to(const Variable& y, const Variable& like, bool align_corners) {
    return F::interpolate(y, ops::InterpolateOptions::size(like.shape()[2], like.shape()[3],
                                                           kernels::InterpMode::Bilinear, align_corners));
}

void check_input(const char* block, const Variable& x, int64_t channels) {
    SEGCORE_CHECK(x.dim() == 4 && x.shape()[1] == channels, block, ": expected an input (N, ", channels,
                  ", H, W), got ", shape_str(x.shape()));
}

}  // namespace

// ---- DepthwiseSeparableConv2d ----

DepthwiseSeparableConv2d::DepthwiseSeparableConv2d(int64_t in, int64_t out, DepthwiseSeparableConv2dConfig c)
    : Module("DepthwiseSeparableConv2d") {
    SEGCORE_CHECK(c.kernel_size >= 1 && c.kernel_size % 2 == 1,
                  "DepthwiseSeparableConv2d: kernel_size must be odd (\"same\" padding), got ", c.kernel_size);
    const int64_t pad = c.dilation * (c.kernel_size - 1) / 2;
    depthwise = register_module(
        "depthwise", conv_bn_relu(in, in, c.kernel_size,
                                  {.stride = c.stride, .padding = pad, .dilation = c.dilation, .groups = in}));
    pointwise = register_module("pointwise", conv_bn_relu(in, out, 1));
}

Variable DepthwiseSeparableConv2d::forward(const Variable& x) { return (*pointwise)((*depthwise)(x)); }

// ---- SqueezeExcitation ----

SqueezeExcitation::SqueezeExcitation(int64_t in, int64_t squeeze, std::shared_ptr<Module> act,
                                     std::shared_ptr<Module> scale_act)
    : Module("SqueezeExcitation") {
    avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(1));
    fc1 = register_module("fc1", std::make_shared<Conv2d>(in, squeeze, 1));
    fc2 = register_module("fc2", std::make_shared<Conv2d>(squeeze, in, 1));
    activation = register_module("activation", act ? std::move(act) : std::make_shared<ReLU>());
    scale_activation =
        register_module("scale_activation", scale_act ? std::move(scale_act) : std::make_shared<Sigmoid>());
}

Variable SqueezeExcitation::forward(const Variable& x) {
    const Variable scale = (*scale_activation)((*fc2)((*activation)((*fc1)((*avgpool)(x)))));
    return F::mul(scale, x);  // (N, C, 1, 1) broadcast over H x W
}

// ---- ASPP ----

ASPPPooling::ASPPPooling(int64_t in, int64_t out) : Module("ASPPPooling") {
    pool = register_module("0", std::make_shared<AdaptiveAvgPool2d>(1));
    conv = register_module("1", std::make_shared<Conv2d>(in, out, 1, Conv2dConfig{.bias = false}));
    bn = register_module("2", std::make_shared<BatchNorm2d>(out, kBnRelu));
}

Variable ASPPPooling::forward(const Variable& x) {
    // Resized from 1 x 1 this is a broadcast, but torchvision interpolates, and so do we: the same
    // arithmetic, so the golden comparison has nothing to explain.
    return resize_to((*bn)((*conv)((*pool)(x))), x, false);
}

ASPP::ASPP(int64_t in, std::vector<int64_t> rates, int64_t out) : Module("ASPP") {
    SEGCORE_CHECK(!rates.empty(), "ASPP: needs at least one atrous rate");
    convs = register_module("convs", std::make_shared<ModuleList>());
    convs->push_back(conv_bn_relu(in, out, 1));
    for (int64_t r : rates) {
        SEGCORE_CHECK(r >= 1, "ASPP: atrous rates must be >= 1, got ", r);
        convs->push_back(conv_bn_relu(in, out, 3, {.padding = r, .dilation = r}));
    }
    convs->push_back(std::make_shared<ASPPPooling>(in, out));
    project = register_module("project", conv_bn_relu(int64_t(convs->size()) * out, out, 1));
    project->push_back(std::make_shared<Dropout>(0.5));
}

Variable ASPP::forward(const Variable& x) {
    std::vector<Variable> branches;
    branches.reserve(convs->size());
    for (size_t i = 0; i < convs->size(); ++i) branches.push_back((*convs)[i](x));
    return (*project)(F::concat(branches, 1));
}

// ---- PyramidPoolingModule ----

PyramidPoolingModule::PyramidPoolingModule(int64_t in, std::vector<int64_t> b, bool ac)
    : Module("PyramidPoolingModule"),
      in_channels(in),
      reduction_channels(b.empty() ? 0 : in / int64_t(b.size())),
      bins(std::move(b)),
      align_corners(ac) {
    SEGCORE_CHECK(!bins.empty(), "PyramidPoolingModule: needs at least one bin size");
    SEGCORE_CHECK(reduction_channels >= 1, "PyramidPoolingModule: ", in, " input channels cannot be split over ",
                  bins.size(), " bins");
    stages = register_module("stages", std::make_shared<ModuleList>());
    for (int64_t bin : bins) {
        // The pool is child "0", so the conv is stages.<i>.1 as in the reference.
        stages->push_back(std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
            std::make_shared<AdaptiveAvgPool2d>(bin),
            std::make_shared<Conv2d>(in, reduction_channels, 1, Conv2dConfig{.bias = false}),
            std::make_shared<BatchNorm2d>(reduction_channels, kBnRelu)}));
    }
}

Variable PyramidPoolingModule::forward(const Variable& x) {
    check_input("PyramidPoolingModule", x, in_channels);
    std::vector<Variable> parts{x};
    for (size_t i = 0; i < stages->size(); ++i) parts.push_back(resize_to((*stages)[i](x), x, align_corners));
    return F::concat(parts, 1);
}

// ---- BiSeNet blocks ----

BiSeNetConvBNReLU::BiSeNetConvBNReLU(int64_t in, int64_t out, int64_t k, int64_t stride) : Module("ConvBNReLU") {
    conv = register_module(
        "conv", std::make_shared<Conv2d>(in, out, k, Conv2dConfig{.stride = stride, .padding = k / 2, .bias = false}));
    bn = register_module("bn", std::make_shared<BatchNorm2d>(out, kBnRelu));
}

Variable BiSeNetConvBNReLU::forward(const Variable& x) { return (*bn)((*conv)(x)); }

AttentionRefinementModule::AttentionRefinementModule(int64_t in, int64_t out) : Module("AttentionRefinementModule") {
    conv = register_module("conv", std::make_shared<BiSeNetConvBNReLU>(in, out, 3));
    conv_atten = register_module("conv_atten", std::make_shared<Conv2d>(out, out, 1, Conv2dConfig{.bias = false}));
    bn_atten = register_module("bn_atten", std::make_shared<BatchNorm2d>(out));
    sigmoid_atten = register_module("sigmoid_atten", std::make_shared<Sigmoid>());
}

Variable AttentionRefinementModule::forward(const Variable& x) {
    const Variable feat = (*conv)(x);
    const Variable att = (*sigmoid_atten)((*bn_atten)((*conv_atten)(F::adaptive_avg_pool2d(feat, 1, 1))));
    return F::mul(feat, att);
}

FeatureFusionModule::FeatureFusionModule(int64_t in, int64_t out, int64_t reduction)
    : Module("FeatureFusionModule"), in_channels(in) {
    SEGCORE_CHECK(reduction >= 1 && out / reduction >= 1, "FeatureFusionModule: reduction ", reduction,
                  " leaves no channels of ", out);
    convblk = register_module("convblk", std::make_shared<BiSeNetConvBNReLU>(in, out, 1));
    conv1 = register_module("conv1", std::make_shared<Conv2d>(out, out / reduction, 1, Conv2dConfig{.bias = false}));
    conv2 = register_module("conv2", std::make_shared<Conv2d>(out / reduction, out, 1, Conv2dConfig{.bias = false}));
    relu = register_module("relu", std::make_shared<ReLU>());
    sigmoid = register_module("sigmoid", std::make_shared<Sigmoid>());
}

Variable FeatureFusionModule::forward(const Variable& spatial, const Variable& context) {
    SEGCORE_CHECK(spatial.dim() == 4 && context.dim() == 4 && spatial.shape()[1] + context.shape()[1] == in_channels,
                  "FeatureFusionModule: the spatial and context channels must add up to ", in_channels, ", got ",
                  shape_str(spatial.shape()), " and ", shape_str(context.shape()));
    const Variable feat = (*convblk)(F::concat({spatial, context}, 1));
    const Variable att = (*sigmoid)((*conv2)((*relu)((*conv1)(F::adaptive_avg_pool2d(feat, 1, 1)))));
    return F::add(feat, F::mul(feat, att));
}

}  // namespace segcore::nn
