// Differentiable batch normalisation (autograd/functions.h), optionally fused with ReLU/ReLU6.
// Formulas in kernels/norm/batch_norm.h:
//   training   dx = gamma invstd / M (M g - sum g - xhat sum g xhat),  g = dy act'(z)
//   eval       dx = g gamma invstd
//   dgamma = sum g xhat, dbeta = sum g
// Saves x, the batch (or running) mean and invstd, gamma and beta — the activation mask is
// recomputed from them instead of saving the output.
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/norm/batch_norm.h"

namespace segcore::autograd {

namespace {

struct BatchNormBackward : Node {
    bool training;
    kernels::BnAct act;
    Tensor x, mean, invstd, gamma, beta;
    BatchNormBackward(bool t, kernels::BnAct a) : training(t), act(a) {}
    std::string name() const override {
        switch (act) {
            case kernels::Act::Relu:
                return "BatchNormReluBackward";
            case kernels::Act::Relu6:
                return "BatchNormRelu6Backward";
            default:
                return "BatchNormBackward";
        }
    }
    tensor_list apply(tensor_list&& grads) override {
        ops::BatchNormGrads g = ops::batch_norm_backward(grads[0], x, mean, invstd, gamma, beta, training, act);
        return {needs_input_grad(0) ? g.dx : Tensor(), needs_input_grad(1) ? g.dgamma : Tensor(),
                needs_input_grad(2) ? g.dbeta : Tensor()};
    }
    void release_saved() override {
        x = mean = invstd = gamma = beta = Tensor();
    }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        return {{"input", x}, {"save_mean", mean}, {"save_invstd", invstd}};
    }
};

}  // namespace

Variable batch_norm(const Variable& x, const Variable& gamma, const Variable& beta, const Tensor& running_mean,
                    const Tensor& running_var, bool training, double momentum, double eps, kernels::BnAct act) {
    ops::BatchNormResult r = ops::batch_norm(x.data(), gamma.defined() ? gamma.data() : Tensor(),
                                             beta.defined() ? beta.data() : Tensor(), running_mean, running_var,
                                             training, momentum, eps, act);
    // Inputs 1 and 2 exist as edges only when affine, so the node's input numbering stays fixed.
    const Variable none;
    auto node = record<BatchNormBackward>({&x, gamma.defined() ? &gamma : &none, beta.defined() ? &beta : &none},
                                          training, act);
    if (node) {
        node->x = x.data();
        node->mean = r.save_mean;
        node->invstd = r.save_invstd;
        if (gamma.defined()) node->gamma = gamma.data();
        if (beta.defined()) node->beta = beta.data();
    }
    return make_output(std::move(r.y), node);
}

}  // namespace segcore::autograd
