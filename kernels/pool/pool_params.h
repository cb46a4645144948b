#pragma once
// Shared geometry of the 2-D pooling ops (kernels/pool/max_pool2d.h, avg_pool2d.h): the window of
// each output element and, for the gather backward kernels, the range of outputs whose window
// covers a given input row/column. Everything here is host+device so the CPU reference and the
// CUDA kernels use the very same arithmetic.
#include <cstdint>

#include "core/host_device.h"

namespace segcore::kernels {

struct Pool2dParams {
    int64_t n = 0, c = 0, h = 0, w = 0;  // input (N, C, H, W)
    int64_t kh = 1, kw = 1;              // window
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
    bool ceil_mode = false;
    bool count_include_pad = true;  // avg_pool2d only
    int64_t oh = 0, ow = 0;         // output height, width

    SEGCORE_HOST_DEVICE int64_t planes() const { return n * c; }
    SEGCORE_HOST_DEVICE int64_t in_plane() const { return h * w; }
    SEGCORE_HOST_DEVICE int64_t out_plane() const { return oh * ow; }
};

// PyTorch's pooling_output_shape: floor (or ceil) of (in + 2 pad - dil (k - 1) - 1) / stride + 1,
// and in ceil mode the last window must start inside the input or the left padding.
SEGCORE_HOST_DEVICE int64_t pool_output_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil,
                                             bool ceil_mode) {
    const int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    // floor division (num may be negative when the window does not fit)
    int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad) --out;
    return out;
}

// Outputs o in [lo, hi) whose window (start o*stride - pad, taps start + r*dil, r < k) can contain
// input index i: o*stride - pad <= i <= o*stride - pad + (k-1)*dil. Callers still test the exact
// condition (dilation may skip i).
SEGCORE_HOST_DEVICE void pool_covering_range(int64_t i, int64_t k, int64_t pad, int64_t stride, int64_t dil,
                                             int64_t out, int64_t& lo, int64_t& hi) {
    const int64_t a = i + pad - (k - 1) * dil;  // o*stride >= a
    lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    hi = (i + pad) / stride + 1;  // o*stride <= i + pad
    if (hi > out) hi = out;
    if (lo > hi) lo = hi;
}

// Adaptive pooling bins (PyTorch): output i averages input [floor(i*in/out), ceil((i+1)*in/out)).
SEGCORE_HOST_DEVICE int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
SEGCORE_HOST_DEVICE int64_t adaptive_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }
// The outputs whose bin contains input index x: [floor(x*out/in), ceil((x+1)*out/in)).
SEGCORE_HOST_DEVICE void adaptive_covering_range(int64_t x, int64_t in, int64_t out, int64_t& lo, int64_t& hi) {
    lo = (x * out) / in;
    hi = ((x + 1) * out + in - 1) / in;
    if (hi > out) hi = out;
}

// avg_pool2d's window after PyTorch's clipping: [h0, h1) x [w0, w1) inside the input and the
// divisor (the padded window size clipped to the padded input, or the count of real pixels).
struct AvgWindow {
    int64_t h0, h1, w0, w1, divisor;
};
SEGCORE_HOST_DEVICE AvgWindow avg_window(const Pool2dParams& p, int64_t oy, int64_t ox) {
    int64_t h0 = oy * p.stride_h - p.pad_h, w0 = ox * p.stride_w - p.pad_w;
    int64_t h1 = h0 + p.kh, w1 = w0 + p.kw;
    if (h1 > p.h + p.pad_h) h1 = p.h + p.pad_h;
    if (w1 > p.w + p.pad_w) w1 = p.w + p.pad_w;
    const int64_t pool_size = (h1 - h0) * (w1 - w0);
    if (h0 < 0) h0 = 0;
    if (w0 < 0) w0 = 0;
    if (h1 > p.h) h1 = p.h;
    if (w1 > p.w) w1 = p.w;
    const int64_t div = p.count_include_pad ? pool_size : (h1 - h0) * (w1 - w0);
    return {h0, h1, w0, w1, div};
}

}  // namespace segcore::kernels
