#include "nn/layers/conv.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "nn/init.h"

namespace segcore::nn {

namespace {

// PyTorch's reset_parameters for _ConvNd: kaiming_uniform(a = sqrt 5) = U(-1/sqrt(fan_in), ...),
// and the bias from the same bound. fan_in is computed from weight.shape[1:] in both layouts.
void conv_init(Variable& w, Variable& b, Generator* gen) {
    init::kaiming_uniform_(w, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
    if (b.defined()) {
        const double fan_in = double(init::calculate_fans(w.shape()).fan_in);
        const double bound = fan_in > 0 ? 1.0 / std::sqrt(fan_in) : 0.0;
        init::uniform_(b, -bound, bound, gen);
    }
}

std::string common_repr(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding, int64_t dilation,
                        int64_t groups, bool bias) {
    std::ostringstream os;
    os << in << ", " << out << ", kernel_size=(" << k << ", " << k << "), stride=(" << stride << ", " << stride << ")";
    if (padding) os << ", padding=(" << padding << ", " << padding << ")";
    if (dilation != 1) os << ", dilation=(" << dilation << ", " << dilation << ")";
    if (groups != 1) os << ", groups=" << groups;
    if (!bias) os << ", bias=False";
    return os.str();
}

void check_channels(const char* layer, int64_t in, int64_t out, int64_t k, int64_t groups) {
    SEGCORE_CHECK(in > 0 && out > 0 && k > 0, layer, ": channels and kernel_size must be positive, got in ", in,
                  ", out ", out, ", kernel ", k);
    SEGCORE_CHECK(groups >= 1 && in % groups == 0 && out % groups == 0, layer, ": in_channels (", in,
                  ") and out_channels (", out, ") must be divisible by groups (", groups, ")");
}

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, Conv2dConfig c, TensorOptions opt)
    : Module("Conv2d"), in_channels(in), out_channels(out), kernel_size(k), cfg(c) {
    check_channels("Conv2d", in, out, k, c.groups);
    weight = register_parameter("weight", empty({out, in / c.groups, k, k}, opt));
    if (c.bias) bias = register_parameter("bias", empty({out}, opt));
    reset_parameters();
}

void Conv2d::reset_parameters(Generator* gen) { conv_init(weight, bias, gen); }

ops::Conv2dOptions Conv2d::options() const {
    ops::Conv2dOptions o = ops::Conv2dOptions::make(cfg.stride, cfg.padding, cfg.dilation, cfg.groups);
    o.backend = cfg.backend;
    return o;
}

Variable Conv2d::forward(const Variable& x) { return autograd::conv2d(x, weight, bias, options()); }

std::string Conv2d::extra_repr() const {
    return common_repr(in_channels, out_channels, kernel_size, cfg.stride, cfg.padding, cfg.dilation, cfg.groups,
                       cfg.bias);
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t k, ConvTranspose2dConfig c, TensorOptions opt)
    : Module("ConvTranspose2d"), in_channels(in), out_channels(out), kernel_size(k), cfg(c) {
    check_channels("ConvTranspose2d", in, out, k, c.groups);
    weight = register_parameter("weight", empty({in, out / c.groups, k, k}, opt));
    if (c.bias) bias = register_parameter("bias", empty({out}, opt));
    reset_parameters();
}

void ConvTranspose2d::reset_parameters(Generator* gen) { conv_init(weight, bias, gen); }

ops::ConvTranspose2dOptions ConvTranspose2d::options() const {
    ops::ConvTranspose2dOptions o =
        ops::ConvTranspose2dOptions::make(cfg.stride, cfg.padding, cfg.output_padding, cfg.dilation, cfg.groups);
    o.conv.backend = cfg.backend;
    return o;
}

Variable ConvTranspose2d::forward(const Variable& x) { return autograd::conv_transpose2d(x, weight, bias, options()); }

std::string ConvTranspose2d::extra_repr() const {
    std::string s = common_repr(in_channels, out_channels, kernel_size, cfg.stride, cfg.padding, cfg.dilation,
                                cfg.groups, cfg.bias);
    if (cfg.output_padding) s += ", output_padding=(" + std::to_string(cfg.output_padding) + ", " +
                                 std::to_string(cfg.output_padding) + ")";
    return s;
}

}  // namespace segcore::nn
