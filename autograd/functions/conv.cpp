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

struct Conv2dBackward : Node {
    ops::Conv2dOptions opt;
    Shape x_shape, w_shape;
    Tensor x, w;
    explicit Conv2dBackward(const ops::Conv2dOptions& o) : opt(o) {}
    std::string name() const override { return "Conv2dBackward"; }
    tensor_list apply(tensor_list&& grads) override {
        const Tensor& dy = grads[0];
        Tensor dx, dw, db;
        if (needs_input_grad(0)) dx = ops::conv2d_backward_input(dy, w, x_shape, opt);
        if (needs_input_grad(1) || needs_input_grad(2))
            std::tie(dw, db) = ops::conv2d_backward_weight(x, dy, w_shape, needs_input_grad(2), opt);
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

struct ConvTranspose2dBackward : Node {
    ops::ConvTranspose2dOptions opt;
    Shape w_shape;
    Tensor x, w;
    explicit ConvTranspose2dBackward(const ops::ConvTranspose2dOptions& o) : opt(o) {}
    std::string name() const override { return "ConvTranspose2dBackward"; }
    tensor_list apply(tensor_list&& grads) override {
        const Tensor& dy = grads[0];
        Tensor dx, dw, db;
        if (needs_input_grad(0)) dx = ops::conv_transpose2d_backward_input(dy, w, opt);
        if (needs_input_grad(1) || needs_input_grad(2))
            std::tie(dw, db) = ops::conv_transpose2d_backward_weight(x, dy, w_shape, needs_input_grad(2), opt);
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

}  // namespace

Variable conv_transpose2d(const Variable& x_in, const Variable& w_in, const Variable& b_in,
                          const ops::ConvTranspose2dOptions& opt) {
    const auto in = autocast_inputs("conv_transpose2d", {x_in, w_in, b_in});
    const Variable &x = in[0], &w = in[1], &b = in[2];
    Tensor y = ops::conv_transpose2d(x.data(), w.data(), b.defined() ? b.data() : Tensor(), opt);
    std::shared_ptr<ConvTranspose2dBackward> node =
        b.defined() ? record<ConvTranspose2dBackward>({&x, &w, &b}, opt) : record<ConvTranspose2dBackward>({&x, &w}, opt);
    if (node) {
        node->w_shape = w.shape();
        if (node->needs_input_grad(1) || node->needs_input_grad(2)) node->x = x.data();
        if (node->needs_input_grad(0)) node->w = w.data();
    }
    return make_output(std::move(y), node);
}

Variable conv2d(const Variable& x_in, const Variable& w_in, const Variable& b_in, const ops::Conv2dOptions& opt) {
    const auto in = autocast_inputs("conv2d", {x_in, w_in, b_in});
    const Variable &x = in[0], &w = in[1], &b = in[2];
    Tensor y = ops::conv2d(x.data(), w.data(), b.defined() ? b.data() : Tensor(), opt);
    std::shared_ptr<Conv2dBackward> node =
        b.defined() ? record<Conv2dBackward>({&x, &w, &b}, opt) : record<Conv2dBackward>({&x, &w}, opt);
    if (node) {
        node->x_shape = x.shape();
        node->w_shape = w.shape();
        if (node->needs_input_grad(1) || node->needs_input_grad(2)) node->x = x.data();
        if (node->needs_input_grad(0)) node->w = w.data();
    }
    return make_output(std::move(y), node);
}

}  // namespace segcore::autograd
