#pragma once
// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay, p *= 1 - lr*wd):
// torch.optim.Adam / AdamW semantics, eps outside the square root, bias correction, optional
// amsgrad (formulas in kernels/optim/fused_optim.h). State per parameter: "exp_avg", "exp_avg_sq"
// and, with amsgrad, "max_exp_avg_sq".
#include <vector>

#include "nn/optim/optimizer.h"

namespace segcore::nn {

struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  // AdamW's constructor uses 1e-2 when given AdamOptions{} unchanged
    bool amsgrad = false;
};

class Adam : public Optimizer {
public:
    explicit Adam(std::vector<autograd::Variable> params, AdamOptions options = {});

protected:
    Adam(std::string type, bool decoupled, std::vector<autograd::Variable> params, AdamOptions options);
    std::vector<std::string> buffer_names(const ParamGroup& g) const override;
    void check_group(const ParamGroup& g) const override;
    void update_group(const ParamGroup& g, const ops::OptimStepArgs& args,
                      const std::vector<std::vector<Tensor>>& buffers) override;

private:
    bool decoupled_ = false;
};

// PyTorch's AdamW default weight decay.
inline AdamOptions adamw_defaults() {
    AdamOptions o;
    o.weight_decay = 1e-2;
    return o;
}

class AdamW final : public Adam {
public:
    explicit AdamW(std::vector<autograd::Variable> params, AdamOptions options = adamw_defaults());
};

}  // namespace segcore::nn
