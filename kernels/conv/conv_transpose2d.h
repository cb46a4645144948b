#pragma once
// conv_transpose2d: the adjoint of conv2d ("deconvolution"; U-Net and FCN up-sampling), as
// torch.nn.functional.conv_transpose2d.
//
//   y = conv2d_backward_input(x, w)  (+ bias)       x (N, Cin, H, W), w (Cin, Cout / groups, R, S)
//   Hout = (H - 1) stride_h - 2 pad_h + dil_h (R - 1) + output_padding_h + 1   (Wout likewise)
//
// Read as a conv2d with K = Cin output channels and C = Cout input channels, the weight layout
// (Cin, Cout / groups, R, S) is exactly conv2d's (K, C / groups, R, S), so the three passes are
// conv2d's three passes with roles swapped:
//   forward        y  = conv2d_backward_input(x, w)         (y OVERWRITTEN)
//   input grad     dx = conv2d(dy, w)
//   weight grad    dw = conv2d_backward_weight(input = dy, grad = x);  db = sum of dy over n, h, w
// and every backend and dtype of conv2d works here too. output_padding (< stride or < dilation)
// picks among the output sizes that map to the same input size.
#include "core/tensor.h"
#include "kernels/conv/conv2d.h"

namespace segcore::ops {

struct ConvTranspose2dOptions {
    Conv2dOptions conv;  // stride, padding, dilation, groups of the conv this transposes
    int64_t output_pad_h = 0, output_pad_w = 0;
    static ConvTranspose2dOptions make(int64_t stride = 1, int64_t padding = 0, int64_t output_padding = 0,
                                       int64_t dilation = 1, int64_t groups = 1) {
        return {Conv2dOptions::make(stride, padding, dilation, groups), output_padding, output_padding};
    }
};

Shape conv_transpose2d_output_shape(const Shape& x, const Shape& w, const ConvTranspose2dOptions& opt);

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& bias, const ConvTranspose2dOptions& opt = {});
Tensor conv_transpose2d_backward_input(const Tensor& dy, const Tensor& w, const ConvTranspose2dOptions& opt = {});
// Returns {dw, db}; db undefined unless with_bias.
std::pair<Tensor, Tensor> conv_transpose2d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape,
                                                           bool with_bias, const ConvTranspose2dOptions& opt = {});

}  // namespace segcore::ops
