#include "nn/layers/pool.h"

#include <sstream>

#include "core/error.h"

namespace segcore::nn {

namespace F = segcore::autograd;

namespace {

// A bad kernel/stride/padding should fail where the layer is built, not at the first forward
// deep inside a model: run the ops' own validation on an input exactly one (dilated) window big,
// which always has an output, so only the option checks can fire.
Shape one_window(int64_t kh, int64_t kw, int64_t dil_h = 1, int64_t dil_w = 1) {
    return {1, 1, dil_h * (kh - 1) + 1, dil_w * (kw - 1) + 1};
}

// PyTorch prints a square setting as one number and a rectangular one as a tuple.
std::string int_or_pair(int64_t a, int64_t b) {
    std::ostringstream os;
    if (a == b)
        os << a;
    else
        os << "(" << a << ", " << b << ")";
    return os.str();
}

std::string bool_str(bool b) { return b ? "True" : "False"; }

}  // namespace

// ---- MaxPool2d ----

MaxPool2d::MaxPool2d(int64_t k, MaxPool2dConfig c)
    : MaxPool2d(ops::MaxPool2dOptions::make(k, c.stride, c.padding, c.dilation, c.ceil_mode)) {}

MaxPool2d::MaxPool2d(const ops::MaxPool2dOptions& o) : Module("MaxPool2d"), opt(o) {
    ops::max_pool2d_params(one_window(o.kh, o.kw, o.dil_h, o.dil_w), o);
}

Variable MaxPool2d::forward(const Variable& x) { return F::max_pool2d(x, opt); }

std::pair<Variable, Tensor> MaxPool2d::forward_with_indices(const Variable& x) {
    return F::max_pool2d_with_indices(x, opt);
}

std::string MaxPool2d::extra_repr() const {
    const int64_t sh = opt.stride_h < 0 ? opt.kh : opt.stride_h, sw = opt.stride_w < 0 ? opt.kw : opt.stride_w;
    std::ostringstream os;
    os << "kernel_size=" << int_or_pair(opt.kh, opt.kw) << ", stride=" << int_or_pair(sh, sw)
       << ", padding=" << int_or_pair(opt.pad_h, opt.pad_w) << ", dilation=" << int_or_pair(opt.dil_h, opt.dil_w)
       << ", ceil_mode=" << bool_str(opt.ceil_mode);
    return os.str();
}

// ---- MaxUnpool2d ----

Variable MaxUnpool2d::forward(const Variable& x, const Tensor& indices, int64_t out_h, int64_t out_w) {
    return F::max_unpool2d(x, indices, out_h, out_w);
}

// ---- AvgPool2d ----

AvgPool2d::AvgPool2d(int64_t k, AvgPool2dConfig c)
    : AvgPool2d(ops::AvgPool2dOptions::make(k, c.stride, c.padding, c.ceil_mode, c.count_include_pad)) {}

AvgPool2d::AvgPool2d(const ops::AvgPool2dOptions& o) : Module("AvgPool2d"), opt(o) {
    ops::avg_pool2d_params(one_window(o.kh, o.kw), o);
}

Variable AvgPool2d::forward(const Variable& x) { return F::avg_pool2d(x, opt); }

std::string AvgPool2d::extra_repr() const {
    // PyTorch prints only these three (ceil_mode and count_include_pad are not shown).
    const int64_t sh = opt.stride_h < 0 ? opt.kh : opt.stride_h, sw = opt.stride_w < 0 ? opt.kw : opt.stride_w;
    std::ostringstream os;
    os << "kernel_size=" << int_or_pair(opt.kh, opt.kw) << ", stride=" << int_or_pair(sh, sw)
       << ", padding=" << int_or_pair(opt.pad_h, opt.pad_w);
    return os.str();
}

// ---- AdaptiveAvgPool2d ----

AdaptiveAvgPool2d::AdaptiveAvgPool2d(int64_t h, int64_t w) : Module("AdaptiveAvgPool2d"), out_h(h), out_w(w) {
    SEGCORE_CHECK(h >= 1 && w >= 1, "AdaptiveAvgPool2d: the output size must be >= 1, got ", h, " x ", w);
}

Variable AdaptiveAvgPool2d::forward(const Variable& x) { return F::adaptive_avg_pool2d(x, out_h, out_w); }

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + int_or_pair(out_h, out_w); }

}  // namespace segcore::nn
