#include "nn/optim/clip_grad.h"

#include "kernels/optim/grad_ops.h"

namespace segcore::nn {

namespace {

std::vector<Tensor> grads_of(const std::vector<autograd::Variable>& params) {
    std::vector<Tensor> grads;
    for (const autograd::Variable& p : params)
        if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
    return grads;
}

}  // namespace

Tensor clip_grad_norm_(const std::vector<autograd::Variable>& params, double max_norm) {
    return ops::clip_grad_norm_(grads_of(params), max_norm);
}

Tensor grad_norm(const std::vector<autograd::Variable>& params) { return ops::multi_tensor_l2_norm(grads_of(params)); }

}  // namespace segcore::nn
