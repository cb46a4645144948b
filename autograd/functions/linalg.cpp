// Differentiable matmul (autograd/functions.h), torch.matmul semantics.
//   y = a @ b       da = g @ b^T        db = a^T @ g
// with broadcast batch dims summed back (sum_to). 1-D operands are promoted to matrices by
// recorded unsqueeze views and the result squeezed, so the node only sees >= 2-D operands.
#include "autograd/autocast.h"
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/linalg/matmul.h"

namespace segcore::autograd {

namespace {

struct MatmulBackward : Node {
    Tensor a, b;
    std::string name() const override { return "MatmulBackward"; }
    tensor_list apply(tensor_list&& grads) override {
        const Tensor& g = grads[0];
        Tensor ga, gb;
        if (needs_input_grad(0)) ga = sum_to(ops::matmul(g, b.transpose(-1, -2)), a.shape());
        if (needs_input_grad(1)) gb = sum_to(ops::matmul(a.transpose(-1, -2), g), b.shape());
        return {ga, gb};
    }
    void release_saved() override {
        a = Tensor();
        b = Tensor();
    }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override { return {{"self", a}, {"mat2", b}}; }
};

}  // namespace

Variable matmul(const Variable& a_in, const Variable& b_in) {
    const auto in = autocast_inputs("matmul", {a_in, b_in});
    SEGCORE_CHECK(in[0].dim() >= 1 && in[1].dim() >= 1, "matmul: both operands need at least 1 dim, got ",
                  shape_str(in[0].shape()), " and ", shape_str(in[1].shape()));
    const bool a_vec = in[0].dim() == 1, b_vec = in[1].dim() == 1;
    const Variable a = a_vec ? unsqueeze(in[0], 0) : in[0];
    const Variable b = b_vec ? unsqueeze(in[1], 1) : in[1];
    Tensor y = ops::matmul(a.data(), b.data());
    auto node = record<MatmulBackward>({&a, &b});
    if (node) {  // both are saved: each gradient needs the other operand, and its own shape
        node->a = a.data();
        node->b = b.data();
    }
    Variable out = make_output(std::move(y), node);
    if (b_vec) out = squeeze(out, -1);
    if (a_vec) out = squeeze(out, b_vec ? -1 : -2);
    return out;
}

}  // namespace segcore::autograd
