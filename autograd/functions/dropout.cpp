// Differentiable dropout (autograd/functions.h), kernels/dropout/dropout.h.
//   y = mask ? x / (1 - p) : 0      dx = mask ? dy / (1 - p) : 0
// Saves the bool mask (elementwise: x's shape; dropout2d: (N, C, 1, 1)), never x.
#include "kernels/dropout/dropout.h"
#include "autograd/function_util.h"
#include "autograd/functions.h"

namespace segcore::autograd {

namespace {

struct DropoutBackward : Node {
    double p;
    Tensor mask;
    std::string label;
    DropoutBackward(double p_, const char* l) : p(p_), label(l) {}
    std::string name() const override { return label; }
    tensor_list apply(tensor_list&& grads) override { return {ops::dropout_backward(grads[0], mask, p)}; }
    void release_saved() override { mask = Tensor(); }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        if (!mask.defined()) return {};
        return {{"mask", mask}};
    }
};

Variable wrap(std::pair<Tensor, Tensor> ym, const Variable& x, double p, const char* label) {
    auto node = record<DropoutBackward>({&x}, p, label);
    if (node) node->mask = ym.second;
    return make_output(std::move(ym.first), node);
}

}  // namespace

Variable dropout(const Variable& x, double p, Generator* gen) {
    return wrap(ops::dropout(x.data(), p, gen), x, p, "DropoutBackward");
}

Variable dropout2d(const Variable& x, double p, Generator* gen) {
    return wrap(ops::dropout2d(x.data(), p, gen), x, p, "Dropout2dBackward");
}

}  // namespace segcore::autograd
