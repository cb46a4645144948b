#pragma once
// Differentiable versions of the Foundation ops (kernels/ops.h), on Variables. Each records a
// named XxxBackward node when grad mode is on and an input requires grad; the formulas are listed
// at the top of autograd/functions/<family>.cpp. Semantics (broadcasting, dims, keepdim) are
// those of the ops:: function of the same name.
#include <cstdint>
#include <optional>
#include <vector>

#include "autograd/variable.h"
#include "kernels/conv/conv2d.h"
#include "kernels/conv/conv_transpose2d.h"
#include "kernels/elementwise/unary.h"
#include "kernels/pool/avg_pool2d.h"
#include "kernels/pool/max_pool2d.h"
#include "kernels/resize/interpolate.h"
#include "kernels/norm/batch_norm.h"
#include "kernels/loss/cross_entropy.h"
#include "kernels/loss/kd_loss.h"
#include "kernels/loss/ohem_cross_entropy.h"
#include "kernels/loss/dice.h"
#include "kernels/loss/lovasz.h"

namespace segcore::autograd {

// ---- elementwise: functions/elementwise.cpp ----
Variable unary(const Variable& x, const kernels::UnaryParams& p);
Variable neg(const Variable& x);
Variable abs(const Variable& x);
Variable exp(const Variable& x);
Variable log(const Variable& x);
Variable sqrt(const Variable& x);
Variable rsqrt(const Variable& x);
Variable sigmoid(const Variable& x);
Variable tanh(const Variable& x);
Variable relu(const Variable& x);
Variable relu6(const Variable& x);
Variable leaky_relu(const Variable& x, double negative_slope = 0.01);
Variable hardswish(const Variable& x);
Variable gelu(const Variable& x, bool tanh_approximation = false);
Variable clamp(const Variable& x, double min, double max);
Variable clamp_min(const Variable& x, double min);
Variable clamp_max(const Variable& x, double max);
Variable pow(const Variable& x, double exponent);
Variable square(const Variable& x);

Variable add(const Variable& a, const Variable& b, double alpha = 1.0);  // a + alpha*b, broadcasting
Variable sub(const Variable& a, const Variable& b, double alpha = 1.0);
Variable mul(const Variable& a, const Variable& b);
Variable div(const Variable& a, const Variable& b);
Variable maximum(const Variable& a, const Variable& b);  // ties split the gradient in half (PyTorch)
Variable minimum(const Variable& a, const Variable& b);
Variable add(const Variable& a, double s);
Variable sub(const Variable& a, double s);
Variable mul(const Variable& a, double s);
Variable div(const Variable& a, double s);
Variable rsub(const Variable& a, double s);  // s - a
Variable rdiv(const Variable& a, double s);  // s / a
// cond is a bool tensor (not differentiable); a and b broadcast against it.
Variable where(const Tensor& cond, const Variable& a, const Variable& b);

// ---- reductions: functions/reduce.cpp ----
Variable sum(const Variable& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Variable mean(const Variable& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// amax/amin semantics: tied maxima share the gradient equally.
Variable max(const Variable& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Variable min(const Variable& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Variable var(const Variable& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1,
             bool keepdim = false);
Variable std(const Variable& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1,
             bool keepdim = false);

// ---- views and casts: functions/view.cpp ----
Variable reshape(const Variable& x, const Shape& shape);
Variable view(const Variable& x, const Shape& shape);
Variable flatten(const Variable& x, int64_t start = 0, int64_t end = -1);
Variable permute(const Variable& x, const std::vector<int64_t>& dims);
Variable transpose(const Variable& x, int64_t a, int64_t b);
Variable narrow(const Variable& x, int64_t dim, int64_t start, int64_t length);
Variable slice(const Variable& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Variable select(const Variable& x, int64_t dim, int64_t index);
Variable expand(const Variable& x, const Shape& shape);
Variable squeeze(const Variable& x);
Variable squeeze(const Variable& x, int64_t dim);
Variable unsqueeze(const Variable& x, int64_t dim);
Variable contiguous(const Variable& x);
Variable to(const Variable& x, DType dtype);   // the gradient is cast back
Variable to(const Variable& x, Device device);  // the gradient is copied back

// ---- concat / split: functions/shape.cpp ----
Variable concat(const std::vector<Variable>& xs, int64_t dim = 0);
Variable stack(const std::vector<Variable>& xs, int64_t dim = 0);
std::vector<Variable> split(const Variable& x, int64_t split_size, int64_t dim = 0);
std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Variable> chunk(const Variable& x, int64_t chunks, int64_t dim = 0);

// ---- softmax: functions/softmax.cpp ----
Variable softmax(const Variable& x, int64_t dim);
Variable log_softmax(const Variable& x, int64_t dim);

// ---- linear algebra: functions/linalg.cpp ----
Variable matmul(const Variable& a, const Variable& b);  // torch.matmul semantics

// ---- convolution: functions/conv.cpp ----
// x (N, C, H, W), w (K, C / groups, R, S), b (K) or undefined; stride/padding/dilation/groups.
Variable conv2d(const Variable& x, const Variable& w, const Variable& b, const ops::Conv2dOptions& opt = {});
// x (N, Cin, H, W), w (Cin, Cout / groups, R, S), b (Cout) or undefined.
Variable conv_transpose2d(const Variable& x, const Variable& w, const Variable& b,
                          const ops::ConvTranspose2dOptions& opt = {});

// ---- normalisation: functions/norm.cpp ----
// x (N, C, ...); gamma/beta (C) or undefined; running stats updated in place when training (may be
// undefined). x may be f16/bf16 with f32 gamma/beta/statistics (statistics never in 16 bits).
Variable batch_norm(const Variable& x, const Variable& gamma, const Variable& beta, const Tensor& running_mean,
                    const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5,
                    kernels::BnAct act = kernels::BnAct::None);

// ---- pooling, resizing, dropout: functions/pool.cpp, functions/resize.cpp, functions/dropout.cpp ----
// Returns {values, indices}; the indices (i64, flat h*W + w within the input plane) are not
// differentiable. The gradient goes to the first maximum of each window (PyTorch's rule).
std::pair<Variable, Tensor> max_pool2d_with_indices(const Variable& x, const ops::MaxPool2dOptions& opt);
Variable max_pool2d(const Variable& x, const ops::MaxPool2dOptions& opt);
// SegNet's decoder: scatter x to the pooling indices of an (out_h, out_w) plane.
Variable max_unpool2d(const Variable& x, const Tensor& indices, int64_t out_h, int64_t out_w);
Variable avg_pool2d(const Variable& x, const ops::AvgPool2dOptions& opt);
Variable adaptive_avg_pool2d(const Variable& x, int64_t out_h, int64_t out_w);
Variable interpolate(const Variable& x, const ops::InterpolateOptions& opt);
// Always applies the mask (training/eval is nn::functional's business); the mask comes from the
// Philox generator (nullptr: the default one), identical on CPU and CUDA.
Variable dropout(const Variable& x, double p, Generator* gen = nullptr);
Variable dropout2d(const Variable& x, double p, Generator* gen = nullptr);

// ---- region losses: functions/loss_region.cpp ----
// logits (N, C, H, W), labels (N, H, W) i64/i32/u8 (not differentiable); ignore_index pixels
// contribute nothing. Return a scalar (f32; f64 for f64 logits). Formulas: kernels/loss/dice.h,
// kernels/loss/lovasz.h. `stats`, when given, receives the (3, C) per-class sums I, P, G.
Variable dice_loss(const Variable& logits, const Tensor& labels, const ops::DiceLossOptions& opt = {},
                   Tensor* stats = nullptr);
Variable generalized_dice_loss(const Variable& logits, const Tensor& labels, ops::DiceLossOptions opt = {});
Variable tversky_loss(const Variable& logits, const Tensor& labels, double alpha, double beta,
                      ops::DiceLossOptions opt = {});
Variable lovasz_softmax(const Variable& logits, const Tensor& labels, const ops::LovaszOptions& opt = {});

// ---- fused per-pixel losses: functions/loss.cpp ----
// logits (N, C, H, W) f32/f64/f16/bf16 (16-bit read as-is, math in f32), labels (N, H, W)
// i64/i32/u8 (not differentiable). The forward writes the per-pixel gradient in the same pass;
// backward rescales it. Formulas: kernels/loss/cross_entropy.h, ohem_cross_entropy.h, kd_loss.h.
Variable cross_entropy(const Variable& logits, const Tensor& labels, const ops::CrossEntropyOptions& opt = {});
Variable focal_loss(const Variable& logits, const Tensor& labels, const ops::FocalLossOptions& opt = {});
Variable ohem_cross_entropy(const Variable& logits, const Tensor& labels, const ops::OhemOptions& opt = {});
// Gradient w.r.t. the student only; labels (optional) mask ignore_index pixels.
Variable kd_loss(const Variable& student, const Tensor& teacher, const Tensor& labels = {},
                 const ops::KdLossOptions& opt = {});

// ---- operators ----
inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }
inline Variable operator-(const Variable& a) { return neg(a); }
inline Variable operator+(const Variable& a, double s) { return add(a, s); }
inline Variable operator-(const Variable& a, double s) { return sub(a, s); }
inline Variable operator*(const Variable& a, double s) { return mul(a, s); }
inline Variable operator/(const Variable& a, double s) { return div(a, s); }
inline Variable operator+(double s, const Variable& a) { return add(a, s); }
inline Variable operator-(double s, const Variable& a) { return rsub(a, s); }
inline Variable operator*(double s, const Variable& a) { return mul(a, s); }
inline Variable operator/(double s, const Variable& a) { return rdiv(a, s); }

}  // namespace segcore::autograd
