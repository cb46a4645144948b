#pragma once
// Linear: y = x W^T + b, weight (out_features, in_features), bias (out_features); parameter names
// "weight" and "bias" as in torch.nn.Linear, and the same default init: kaiming_uniform(a = sqrt 5)
// for W, which is U(-1/sqrt(in), 1/sqrt(in)), and U(-1/sqrt(in), 1/sqrt(in)) for b.
#include "nn/module.h"

namespace segcore::nn {

class Linear : public Module {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true, TensorOptions opt = {});
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    void reset_parameters(Generator* gen = nullptr);

    Variable weight, bias;  // bias undefined when bias = false
    const int64_t in_features, out_features;
};

}  // namespace segcore::nn
