#include "seg/models/unet.h"

#include "core/error.h"
#include "nn/functional.h"

namespace segcore::seg {

namespace F = segcore::autograd;

namespace {
nn::BatchNormConfig bn_relu() {
    nn::BatchNormConfig c;
    c.act = kernels::Act::Relu;  // the ReLU runs inside the BN kernel
    return c;
}
nn::Conv2dConfig conv3x3() {
    nn::Conv2dConfig c;
    c.padding = 1;
    c.bias = false;  // BN follows: a bias would be cancelled by the mean
    return c;
}
}  // namespace

DoubleConv::DoubleConv(int64_t in, int64_t out) : nn::Module("DoubleConv") {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(in, out, 3, conv3x3()));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(out, bn_relu()));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(out, out, 3, conv3x3()));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out, bn_relu()));
}

Variable DoubleConv::forward(const Variable& x) { return (*bn2)((*conv2)((*bn1)((*conv1)(x)))); }

Variable pad_and_concat(const Variable& skip, const Variable& up) {
    const int64_t dh = skip.size(2) - up.size(2), dw = skip.size(3) - up.size(3);
    SEGCORE_CHECK(dh >= 0 && dw >= 0, "decoder: the up-sampled map ", shape_str(up.shape()),
                  " is larger than its skip connection ", shape_str(skip.shape()));
    const Variable u = nn::functional::pad2d(up, dw / 2, dw - dw / 2, dh / 2, dh - dh / 2);
    return F::concat({skip, u}, 1);
}

UNet::UNet(const UNetConfig& c) : SegModel("UNet", c.num_classes), cfg(c) {
    SEGCORE_CHECK(c.in_channels >= 1 && c.num_classes >= 1 && c.depth >= 1 && c.base_width >= 1,
                  "UNet: in_channels, num_classes, depth and base_width must be >= 1");
    const auto width = [&](int64_t i) { return c.base_width << i; };
    inc_ = register_module("inc", std::make_shared<DoubleConv>(c.in_channels, width(0)));
    for (int64_t i = 1; i <= c.depth; ++i)
        down_.push_back(register_module("down" + std::to_string(i), std::make_shared<DoubleConv>(width(i - 1), width(i))));
    // up<i> brings stage i back to stage i-1, deepest first: up<depth> runs first.
    for (int64_t i = c.depth; i >= 1; --i) {
        nn::ConvTranspose2dConfig t;
        t.stride = 2;
        if (!c.bilinear)
            up_.push_back(register_module("up" + std::to_string(i),
                                          std::make_shared<nn::ConvTranspose2d>(width(i), width(i - 1), 2, t)));
        const int64_t in = c.bilinear ? width(i) + width(i - 1) : 2 * width(i - 1);
        up_conv_.push_back(register_module("up" + std::to_string(i) + "_conv", std::make_shared<DoubleConv>(in, width(i - 1))));
    }
    outc_ = register_module("outc", std::make_shared<nn::Conv2d>(width(0), c.num_classes, 1));
}

SegOutput UNet::forward_seg(const Variable& x) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == cfg.in_channels, "UNet: expected (N, ", cfg.in_channels,
                  ", H, W) input, got ", shape_str(x.shape()));
    std::vector<Variable> skips{(*inc_)(x)};
    for (auto& d : down_) skips.push_back((*d)(F::max_pool2d(skips.back(), ops::MaxPool2dOptions::make(2))));
    Variable y = skips.back();
    for (size_t j = 0; j < up_conv_.size(); ++j) {
        const Variable& skip = skips[skips.size() - 2 - j];
        const Variable u = cfg.bilinear ? F::interpolate(y, ops::InterpolateOptions::scale(2.0, 2.0)) : (*up_[j])(y);
        y = (*up_conv_[j])(pad_and_concat(skip, u));
    }
    return {(*outc_)(y), {}, {}};
}

std::string UNet::extra_repr() const {
    return "in_channels=" + std::to_string(cfg.in_channels) + ", num_classes=" + std::to_string(cfg.num_classes) +
           ", depth=" + std::to_string(cfg.depth) + ", base_width=" + std::to_string(cfg.base_width) +
           ", up=" + (cfg.bilinear ? "bilinear" : "transpose");
}

}  // namespace segcore::seg
