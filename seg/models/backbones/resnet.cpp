#include "seg/models/backbones/resnet.h"

#include "autograd/functions.h"
#include "core/error.h"

namespace segcore::seg {

namespace {

using kernels::Act;

std::shared_ptr<nn::Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride, int64_t dilation,
                                    const TensorOptions& opt) {
    // padding = dilation keeps the size at stride 1 ("same"), as torchvision's conv3x3.
    return std::make_shared<nn::Conv2d>(
        in, out, 3, nn::Conv2dConfig{.stride = stride, .padding = dilation, .dilation = dilation, .bias = false}, opt);
}

std::shared_ptr<nn::Conv2d> conv1x1(int64_t in, int64_t out, int64_t stride, const TensorOptions& opt) {
    return std::make_shared<nn::Conv2d>(in, out, 1, nn::Conv2dConfig{.stride = stride, .bias = false}, opt);
}

std::shared_ptr<nn::BatchNorm2d> bn(int64_t c, Act act, const TensorOptions& opt) {
    return std::make_shared<nn::BatchNorm2d>(c, nn::BatchNormConfig{.act = act}, opt);
}

// The projection on the identity path: "downsample.0" conv 1x1 (stride), "downsample.1" BN.
std::shared_ptr<nn::Sequential> projection(int64_t in, int64_t out, int64_t stride, const TensorOptions& opt) {
    return std::make_shared<nn::Sequential>(
        std::vector<std::shared_ptr<nn::Module>>{conv1x1(in, out, stride, opt), bn(out, Act::None, opt)});
}

}  // namespace

// Registration order is torchvision's (conv1, bn1, conv2, bn2, [conv3, bn3], downsample): the
// state-dict order, which formula weights and positional loaders depend on.
BasicBlock::BasicBlock(int64_t inplanes, int64_t planes, ResBlockConfig c, TensorOptions opt) : Module("BasicBlock") {
    conv1 = register_module("conv1", conv3x3(inplanes, planes, c.stride, c.dilation, opt));
    bn1 = register_module("bn1", bn(planes, Act::Relu, opt));
    conv2 = register_module("conv2", conv3x3(planes, planes, 1, c.dilation, opt));
    bn2 = register_module("bn2", bn(planes, Act::None, opt));  // ReLU comes after the residual add
    if (c.downsample) downsample = register_module("downsample", projection(inplanes, planes, c.stride, opt));
}

Variable BasicBlock::forward(const Variable& x) {
    const Variable out = (*bn2)((*conv2)((*bn1)((*conv1)(x))));
    const Variable identity = downsample ? (*downsample)(x) : x;
    return autograd::relu(autograd::add(out, identity));
}

Bottleneck::Bottleneck(int64_t inplanes, int64_t planes, ResBlockConfig c, TensorOptions opt) : Module("Bottleneck") {
    conv1 = register_module("conv1", conv1x1(inplanes, planes, 1, opt));
    bn1 = register_module("bn1", bn(planes, Act::Relu, opt));
    conv2 = register_module("conv2", conv3x3(planes, planes, c.stride, c.dilation, opt));
    bn2 = register_module("bn2", bn(planes, Act::Relu, opt));
    conv3 = register_module("conv3", conv1x1(planes, planes * kExpansion, 1, opt));
    bn3 = register_module("bn3", bn(planes * kExpansion, Act::None, opt));
    if (c.downsample)
        downsample = register_module("downsample", projection(inplanes, planes * kExpansion, c.stride, opt));
}

Variable Bottleneck::forward(const Variable& x) {
    Variable out = (*bn1)((*conv1)(x));
    out = (*bn2)((*conv2)(out));
    out = (*bn3)((*conv3)(out));
    const Variable identity = downsample ? (*downsample)(x) : x;
    return autograd::relu(autograd::add(out, identity));
}

namespace {

std::vector<int64_t> blocks_per_layer(int64_t depth) {
    switch (depth) {
        case 18:
            return {2, 2, 2, 2};
        case 34:
            return {3, 4, 6, 3};
        case 50:
            return {3, 4, 6, 3};
        case 101:
            return {3, 4, 23, 3};
        default:
            SEGCORE_THROW("ResNet: depth must be 18, 34, 50 or 101, got ", depth);
    }
}

}  // namespace

ResNet::ResNet(ResNetConfig c, TensorOptions opt) : Backbone("ResNet"), cfg(c), bottleneck_(c.depth >= 50) {
    const std::vector<int64_t> blocks = blocks_per_layer(c.depth);
    SEGCORE_CHECK(c.output_stride == 32 || c.output_stride == 16 || c.output_stride == 8,
                  "ResNet: output_stride must be 32, 16 or 8, got ", c.output_stride);
    SEGCORE_CHECK(c.in_channels > 0, "ResNet: in_channels must be positive, got ", c.in_channels);
    // torchvision's replace_stride_with_dilation for layer2..layer4.
    const bool dilate3 = c.output_stride <= 8, dilate4 = c.output_stride <= 16;

    conv1 = register_module(
        "conv1", std::make_shared<nn::Conv2d>(c.in_channels, 64, 7,
                                              nn::Conv2dConfig{.stride = 2, .padding = 3, .bias = false}, opt));
    bn1 = register_module("bn1", bn(64, Act::Relu, opt));
    layer1 = register_module("layer1", make_layer(64, blocks[0], 1, false, opt));
    info_.push_back({"layer1", inplanes_, stride_});
    layer2 = register_module("layer2", make_layer(128, blocks[1], 2, false, opt));
    info_.push_back({"layer2", inplanes_, stride_});
    layer3 = register_module("layer3", make_layer(256, blocks[2], 2, dilate3, opt));
    info_.push_back({"layer3", inplanes_, stride_});
    layer4 = register_module("layer4", make_layer(512, blocks[3], 2, dilate4, opt));
    info_.push_back({"layer4", inplanes_, stride_});
    if (c.with_classifier)
        fc = register_module("fc", std::make_shared<nn::Linear>(inplanes_, c.num_classes, true, opt));
}

// torchvision's ResNet._make_layer, line for line: a dilated layer trades its stride for dilation,
// and its first block keeps the dilation the layer's input was computed with.
std::shared_ptr<nn::Sequential> ResNet::make_layer(int64_t planes, int64_t blocks, int64_t stride, bool dilate,
                                                   const TensorOptions& opt) {
    const int64_t expansion = bottleneck_ ? Bottleneck::kExpansion : BasicBlock::kExpansion;
    const int64_t previous_dilation = dilation_;
    if (dilate) {
        dilation_ *= stride;
        stride = 1;
    }
    stride_ *= stride;
    auto make_block = [&](int64_t in, ResBlockConfig bc) -> std::shared_ptr<nn::Module> {
        if (bottleneck_) return std::make_shared<Bottleneck>(in, planes, bc, opt);
        return std::make_shared<BasicBlock>(in, planes, bc, opt);
    };
    auto layer = std::make_shared<nn::Sequential>();
    const bool project = stride != 1 || inplanes_ != planes * expansion;
    layer->push_back(make_block(inplanes_, {.stride = stride, .dilation = previous_dilation, .downsample = project}));
    inplanes_ = planes * expansion;
    for (int64_t i = 1; i < blocks; ++i) layer->push_back(make_block(inplanes_, {.dilation = dilation_}));
    return layer;
}

std::vector<Variable> ResNet::forward_features(const Variable& x) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == cfg.in_channels, "ResNet: expected input (N, ", cfg.in_channels,
                  ", H, W), got ", shape_str(x.shape()));
    Variable y = (*bn1)((*conv1)(x));
    y = autograd::max_pool2d(y, ops::MaxPool2dOptions::make(3, 2, 1));
    std::vector<Variable> out;
    out.push_back((*layer1)(y));
    out.push_back((*layer2)(out.back()));
    out.push_back((*layer3)(out.back()));
    out.push_back((*layer4)(out.back()));
    return out;
}

Variable ResNet::forward_classify(const Variable& x) {
    SEGCORE_CHECK(fc != nullptr,
                  "ResNet::forward_classify: this ResNet was built without a classifier "
                  "(ResNetConfig.with_classifier = false)");
    Variable y = autograd::adaptive_avg_pool2d(forward_features(x).back(), 1, 1);
    return (*fc)(autograd::flatten(y, 1));
}

std::string ResNet::extra_repr() const {
    return "depth=" + std::to_string(cfg.depth) + ", output_stride=" + std::to_string(cfg.output_stride);
}

}  // namespace segcore::seg
