#include "nn/functional.h"

#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "core/error.h"
#include "kernels/elementwise/binary.h"

namespace segcore::nn::functional {

namespace F = segcore::autograd;

Variable linear(const Variable& x_in, const Variable& w_in, const Variable& b_in) {
    const auto in = F::autocast_inputs("linear", {x_in, w_in, b_in});
    const Variable &x = in[0], &w = in[1], &b = in[2];
    SEGCORE_CHECK(w.dim() == 2, "linear: the weight must be (out_features, in_features), got ", shape_str(w.shape()));
    SEGCORE_CHECK(x.dim() >= 1 && x.size(-1) == w.size(1), "linear: the input's last dim must be in_features = ",
                  w.size(1), ", got input ", shape_str(x.shape()));
    Variable y = F::matmul(x, F::transpose(w, 0, 1));
    if (b.defined()) y = F::add(y, b);
    return y;
}

Variable dropout(const Variable& x, double p, bool training, Generator* gen) {
    SEGCORE_CHECK(p >= 0.0 && p <= 1.0, "dropout: p must be in [0, 1], got ", p);
    if (!training || p == 0.0) return x;
    return F::dropout(x, p, gen);  // Philox mask kernel (kernels/dropout); p == 1 gives zeros
}

Variable dropout2d(const Variable& x, double p, bool training, Generator* gen) {
    SEGCORE_CHECK(p >= 0.0 && p <= 1.0, "dropout2d: p must be in [0, 1], got ", p);
    if (!training || p == 0.0) return x;
    return F::dropout2d(x, p, gen);
}

Variable pad2d(const Variable& x, int64_t left, int64_t right, int64_t top, int64_t bottom) {
    SEGCORE_CHECK(x.dim() == 4, "pad2d: expected (N, C, H, W), got ", shape_str(x.shape()));
    SEGCORE_CHECK(left >= 0 && right >= 0 && top >= 0 && bottom >= 0, "pad2d: padding must be >= 0, got (", left,
                  ", ", right, ", ", top, ", ", bottom, ")");
    if (left == 0 && right == 0 && top == 0 && bottom == 0) return x;
    // Concatenation with zero blocks: differentiable through concat, and the zero blocks are
    // constants (no gradient), so no dedicated kernel is needed for this rarely hot op.
    const TensorOptions opt(x.dtype(), x.device());
    const auto zeros_block = [&](int64_t h, int64_t w) { return Variable(zeros({x.size(0), x.size(1), h, w}, opt)); };
    Variable y = x;
    if (left || right) {
        std::vector<Variable> parts;
        if (left) parts.push_back(zeros_block(x.size(2), left));
        parts.push_back(y);
        if (right) parts.push_back(zeros_block(x.size(2), right));
        y = F::concat(parts, 3);
    }
    if (top || bottom) {
        std::vector<Variable> parts;
        if (top) parts.push_back(zeros_block(top, y.size(3)));
        parts.push_back(y);
        if (bottom) parts.push_back(zeros_block(bottom, y.size(3)));
        y = F::concat(parts, 2);
    }
    return y;
}

Variable resize_bilinear(const Variable& x, int64_t h, int64_t w) {
    SEGCORE_CHECK(x.dim() == 4, "resize_bilinear: expected (N, C, H, W), got ", shape_str(x.shape()));
    if (x.size(2) == h && x.size(3) == w) return x;
    return F::interpolate(x, ops::InterpolateOptions::size(h, w, kernels::InterpMode::Bilinear, false));
}

}  // namespace segcore::nn::functional
