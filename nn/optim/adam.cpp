#include "nn/optim/adam.h"

#include "core/error.h"

namespace segcore::nn {

namespace {

ParamGroup adam_defaults(const AdamOptions& o) {
    ParamGroup g;
    g.lr = o.lr;
    g.beta1 = o.beta1;
    g.beta2 = o.beta2;
    g.eps = o.eps;
    g.weight_decay = o.weight_decay;
    g.amsgrad = o.amsgrad;
    return g;
}

}  // namespace

Adam::Adam(std::vector<autograd::Variable> params, AdamOptions options)
    : Adam("Adam", false, std::move(params), options) {}

Adam::Adam(std::string type, bool decoupled, std::vector<autograd::Variable> params, AdamOptions options)
    : Optimizer(std::move(type), adam_defaults(options)), decoupled_(decoupled) {
    check_group(defaults_);
    if (!params.empty()) add_param_group(make_group(std::move(params)));
}

AdamW::AdamW(std::vector<autograd::Variable> params, AdamOptions options)
    : Adam("AdamW", true, std::move(params), options) {}

std::vector<std::string> Adam::buffer_names(const ParamGroup& g) const {
    if (g.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"exp_avg", "exp_avg_sq"};
}

void Adam::check_group(const ParamGroup& g) const {
    SEGCORE_CHECK(g.lr >= 0.0, type_, ": lr must be >= 0, got ", g.lr);
    SEGCORE_CHECK(g.eps >= 0.0, type_, ": eps must be >= 0, got ", g.eps);
    SEGCORE_CHECK(g.beta1 >= 0.0 && g.beta1 < 1.0, type_, ": beta1 must be in [0, 1), got ", g.beta1);
    SEGCORE_CHECK(g.beta2 >= 0.0 && g.beta2 < 1.0, type_, ": beta2 must be in [0, 1), got ", g.beta2);
    SEGCORE_CHECK(g.weight_decay >= 0.0, type_, ": weight_decay must be >= 0, got ", g.weight_decay);
}

void Adam::update_group(const ParamGroup& g, const ops::OptimStepArgs& args,
                        const std::vector<std::vector<Tensor>>& buffers) {
    kernels::AdamParams p;
    p.lr = g.lr;
    p.beta1 = g.beta1;
    p.beta2 = g.beta2;
    p.eps = g.eps;
    p.weight_decay = g.weight_decay;
    p.decoupled_weight_decay = decoupled_;
    p.amsgrad = g.amsgrad;
    ops::adam_step_(args, buffers[0], buffers[1], g.amsgrad ? buffers[2] : std::vector<Tensor>{}, p);
}

}  // namespace segcore::nn
