// Differentiable convolutions (autograd/functions.h).
//   y = conv2d(x, w) + b     dx = conv2d_backward_input(dy, w)
//                            dw, db = conv2d_backward_weight(x, dy)   (db = sum of dy over n, p, q)
//   y = conv_transpose2d(x, w) + b
//                            dx = conv2d(dy, w)
//                            dw = conv2d_backward_weight(dy, x); db = sum of dy over n, h, w
// Each saves x (for dw) and w (for dx), only when the other side needs a gradient.
#include "autograd/autocast.h"
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/conv/conv2d.h"
#include "kernels/conv/conv_transpose2d.h"

namespace segcore::autograd {

namespace {

// The two convolutions differ only in which ops compute their gradients (Op supplies them).
template <typename Op>
struct ConvBackward : Node {
    typename Op::Options opt;
    Shape x_shape, w_shape;
    Tensor x, w;
    explicit ConvBackward(const typename Op::Options& o) : opt(o) {}
    std::string name() const override { return Op::kName; }
    tensor_list apply(tensor_list&& grads) override {
        const Tensor& dy = grads[0];
        Tensor dx, dw, db;
        if (needs_input_grad(0)) dx = Op::backward_input(dy, w, x_shape, opt);
        if (needs_input_grad(1) || needs_input_grad(2))
            std::tie(dw, db) = Op::backward_weight(x, dy, w_shape, needs_input_grad(2), opt);
        return {dx, needs_input_grad(1) ? dw : Tensor(), db};
    }
    void release_saved() override {
        x = Tensor();
        w = Tensor();
    }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        std::vector<std::pair<std::string, Tensor>> s;
        if (x.defined()) s.emplace_back("input", x);
        if (w.defined()) s.emplace_back("weight", w);
        return s;
    }
};

struct Conv2dOp {
    using Options = ops::Conv2dOptions;
    static constexpr const char* kName = "Conv2dBackward";
    static constexpr const char* kAutocast = "conv2d";
    static Tensor forward(const Tensor& x, const Tensor& w, const Tensor& b, const Options& o) {
        return ops::conv2d(x, w, b, o);
    }
    static Tensor backward_input(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Options& o) {
        return ops::conv2d_backward_input(dy, w, x_shape, o);
    }
    static std::pair<Tensor, Tensor> backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape, bool bias,
                                                     const Options& o) {
        return ops::conv2d_backward_weight(x, dy, w_shape, bias, o);
    }
};

struct ConvTranspose2dOp {
    using Options = ops::ConvTranspose2dOptions;
    static constexpr const char* kName = "ConvTranspose2dBackward";
    static constexpr const char* kAutocast = "conv_transpose2d";
    static Tensor forward(const Tensor& x, const Tensor& w, const Tensor& b, const Options& o) {
        return ops::conv_transpose2d(x, w, b, o);
    }
    static Tensor backward_input(const Tensor& dy, const Tensor& w, const Shape&, const Options& o) {
        return ops::conv_transpose2d_backward_input(dy, w, o);
    }
    static std::pair<Tensor, Tensor> backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape, bool bias,
                                                     const Options& o) {
        return ops::conv_transpose2d_backward_weight(x, dy, w_shape, bias, o);
    }
};

template <typename Op>
Variable conv_impl(const Variable& x_in, const Variable& w_in, const Variable& b_in, const typename Op::Options& opt) {
    const auto in = autocast_inputs(Op::kAutocast, {x_in, w_in, b_in});
    const Variable &x = in[0], &w = in[1], &b = in[2];
    Tensor y = Op::forward(x.data(), w.data(), b.defined() ? b.data() : Tensor(), opt);
    auto node = b.defined() ? record<ConvBackward<Op>>({&x, &w, &b}, opt) : record<ConvBackward<Op>>({&x, &w}, opt);
    if (node) {
        node->x_shape = x.shape();
        node->w_shape = w.shape();
        if (node->needs_input_grad(1) || node->needs_input_grad(2)) node->x = x.data();
        if (node->needs_input_grad(0)) node->w = w.data();
    }
    return make_output(std::move(y), node);
}

}  // namespace

Variable conv2d(const Variable& x, const Variable& w, const Variable& b, const ops::Conv2dOptions& opt) {
    return conv_impl<Conv2dOp>(x, w, b, opt);
}

Variable conv_transpose2d(const Variable& x, const Variable& w, const Variable& b,
                          const ops::ConvTranspose2dOptions& opt) {
    return conv_impl<ConvTranspose2dOp>(x, w, b, opt);
}

}  // namespace segcore::autograd
