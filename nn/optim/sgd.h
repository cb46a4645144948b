#pragma once
// SGD with momentum, dampening, Nesterov momentum and (L2) weight decay: torch.optim.SGD semantics
// (formulas in kernels/optim/fused_optim.h). The momentum buffer is the first gradient on the first
// step, as in PyTorch. State: "momentum_buffer" per parameter when momentum != 0.
#include <vector>

#include "nn/optim/optimizer.h"

namespace segcore::nn {

struct SgdOptions {
    double lr = 0.01;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
};

class SGD final : public Optimizer {
public:
    explicit SGD(std::vector<autograd::Variable> params, SgdOptions options = {});

protected:
    std::vector<std::string> buffer_names(const ParamGroup& g) const override;
    void check_group(const ParamGroup& g) const override;
    void update_group(const ParamGroup& g, const ops::OptimStepArgs& args,
                      const std::vector<std::vector<Tensor>>& buffers) override;
};

}  // namespace segcore::nn
