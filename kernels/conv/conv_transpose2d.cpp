// ops::conv_transpose2d (kernels/conv/conv_transpose2d.h): conv2d's passes with roles swapped.
#include "kernels/conv/conv_transpose2d.h"

#include "kernels/common/dispatch.h"
#include "kernels/elementwise/binary.h"
#include "kernels/reduce/reduce.h"

namespace segcore::ops {

namespace {
constexpr const char* kOp = "conv_transpose2d";
}

Shape conv_transpose2d_output_shape(const Shape& x, const Shape& w, const ConvTranspose2dOptions& o) {
    SEGCORE_CHECK(x.size() == 4, kOp, ": the input must be (N, C, H, W), got ", shape_str(x));
    SEGCORE_CHECK(w.size() == 4, kOp, ": the weight must be (Cin, Cout / groups, R, S), got ", shape_str(w));
    const Conv2dOptions& c = o.conv;
    SEGCORE_CHECK(c.groups >= 1 && c.stride_h >= 1 && c.stride_w >= 1 && c.dil_h >= 1 && c.dil_w >= 1 &&
                      c.pad_h >= 0 && c.pad_w >= 0,
                  kOp, ": stride, dilation and groups must be >= 1 and padding >= 0");
    SEGCORE_CHECK(x[1] == w[0], kOp, ": the weight ", shape_str(w), " expects ", w[0], " input channels, the input ",
                  shape_str(x), " has ", x[1]);
    SEGCORE_CHECK(w[0] % c.groups == 0, kOp, ": input channels (", w[0], ") must be divisible by groups (", c.groups, ")");
    SEGCORE_CHECK(o.output_pad_h >= 0 && o.output_pad_w >= 0 &&
                      (o.output_pad_h < c.stride_h || o.output_pad_h < c.dil_h) &&
                      (o.output_pad_w < c.stride_w || o.output_pad_w < c.dil_w),
                  kOp, ": output_padding (", o.output_pad_h, ", ", o.output_pad_w,
                  ") must be smaller than either stride or dilation");
    const int64_t h = (x[2] - 1) * c.stride_h - 2 * c.pad_h + c.dil_h * (w[2] - 1) + o.output_pad_h + 1;
    const int64_t wd = (x[3] - 1) * c.stride_w - 2 * c.pad_w + c.dil_w * (w[3] - 1) + o.output_pad_w + 1;
    SEGCORE_CHECK(h > 0 && wd > 0, kOp, ": the output would be ", h, " x ", wd, " for input ", shape_str(x),
                  "; reduce the padding");
    return {x[0], w[1] * c.groups, h, wd};
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvTranspose2dOptions& opt) {
    check_defined(kOp, {&x, &w});
    const Shape y_shape = conv_transpose2d_output_shape(x.shape(), w.shape(), opt);
    Tensor y = conv2d_backward_input(x, w, y_shape, opt.conv);
    if (bias.defined()) {
        SEGCORE_CHECK(bias.dim() == 1 && bias.size(0) == y_shape[1], kOp, ": the bias must be (", y_shape[1],
                      "), got ", shape_str(bias.shape()));
        add_(y, bias.view({1, y_shape[1], 1, 1}));
    }
    return y;
}

Tensor conv_transpose2d_backward_input(const Tensor& dy, const Tensor& w, const ConvTranspose2dOptions& opt) {
    return conv2d(dy, w, Tensor(), opt.conv);
}

std::pair<Tensor, Tensor> conv_transpose2d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape,
                                                           bool with_bias, const ConvTranspose2dOptions& opt) {
    Tensor dw = conv2d_backward_weight(dy, x, w_shape, false, opt.conv).first;
    Tensor db;
    if (with_bias) {
        // Accumulate 16-bit gradients in f32, like conv2d's bias gradient.
        db = is_half(dy.dtype()) ? sum(dy.to(DType::F32), {0, 2, 3}).to(dy.dtype()) : sum(dy, {0, 2, 3});
    }
    return {dw, db};
}

}  // namespace segcore::ops
