#include "nn/layers/conv_bn_act.h"

#include <cmath>
#include <sstream>

#include "autograd/functions.h"
#include "core/error.h"

namespace segcore::nn {

ConvBNAct::ConvBNAct(int64_t in, int64_t out, int64_t k, ConvBNActConfig c, TensorOptions opt)
    : Module("ConvBNAct"), out_channels(out) {
    SEGCORE_CHECK(c.dilation >= 1, "ConvBNAct: dilation must be >= 1, got ", c.dilation);
    const int64_t padding = c.padding >= 0 ? c.padding : (k - 1) / 2 * c.dilation;
    conv = register_module(
        "0",
        std::make_shared<Conv2d>(
            in, out, k,
            Conv2dConfig{
                .stride = c.stride, .padding = padding, .dilation = c.dilation, .groups = c.groups, .bias = c.bias},
            opt));
    bn = register_module("1", std::make_shared<BatchNorm2d>(
                                  out, BatchNormConfig{.eps = c.bn_eps, .momentum = c.bn_momentum, .act = c.act}, opt));
}

Variable ConvBNAct::forward(const Variable& x) { return (*bn)((*conv)(x)); }

InvertedResidual::InvertedResidual(int64_t in, int64_t out, InvertedResidualConfig c, TensorOptions opt)
    : Module("InvertedResidual"),
      in_channels(in),
      out_channels(out),
      // Python's round() (ties to even), which nearbyint matches in the default rounding mode.
      hidden_channels(int64_t(std::nearbyint(double(in) * c.expand_ratio))),
      cfg(c),
      use_res_connect(c.stride == 1 && in == out) {
    SEGCORE_CHECK(c.stride == 1 || c.stride == 2, "InvertedResidual: stride must be 1 or 2, got ", c.stride);
    SEGCORE_CHECK(hidden_channels > 0, "InvertedResidual: expand_ratio ", c.expand_ratio, " gives ", hidden_channels,
                  " hidden channels for ", in, " inputs");
    conv = register_module("conv", std::make_shared<Sequential>());
    if (c.expand_ratio != 1.0)
        conv->push_back(
            std::make_shared<ConvBNAct>(in, hidden_channels, 1, ConvBNActConfig{.act = kernels::Act::Relu6}, opt));
    conv->push_back(std::make_shared<ConvBNAct>(
        hidden_channels, hidden_channels, 3,
        ConvBNActConfig{
            .stride = c.stride, .dilation = c.dilation, .groups = hidden_channels, .act = kernels::Act::Relu6},
        opt));
    conv->push_back(std::make_shared<Conv2d>(hidden_channels, out, 1, Conv2dConfig{.bias = false}, opt));
    conv->push_back(std::make_shared<BatchNorm2d>(out, BatchNormConfig{}, opt));
}

Variable InvertedResidual::forward(const Variable& x) {
    Variable y = (*conv)(x);
    return use_res_connect ? autograd::add(x, y) : y;
}

std::string InvertedResidual::extra_repr() const {
    std::ostringstream os;
    os << in_channels << ", " << out_channels << ", stride=" << cfg.stride << ", expand_ratio=" << cfg.expand_ratio;
    if (cfg.dilation != 1) os << ", dilation=" << cfg.dilation;
    return os.str();
}

}  // namespace segcore::nn
