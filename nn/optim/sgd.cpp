#include "nn/optim/sgd.h"

#include "core/error.h"

namespace segcore::nn {

namespace {

ParamGroup sgd_defaults(const SgdOptions& o) {
    ParamGroup g;
    g.lr = o.lr;
    g.momentum = o.momentum;
    g.dampening = o.dampening;
    g.weight_decay = o.weight_decay;
    g.nesterov = o.nesterov;
    return g;
}

}  // namespace

SGD::SGD(std::vector<autograd::Variable> params, SgdOptions options) : Optimizer("SGD", sgd_defaults(options)) {
    check_group(defaults_);
    if (!params.empty()) add_param_group(make_group(std::move(params)));
}

std::vector<std::string> SGD::buffer_names(const ParamGroup& g) const {
    if (g.momentum != 0.0) return {"momentum_buffer"};
    return {};
}

void SGD::check_group(const ParamGroup& g) const {
    SEGCORE_CHECK(g.lr >= 0.0, "SGD: lr must be >= 0, got ", g.lr);
    SEGCORE_CHECK(g.momentum >= 0.0, "SGD: momentum must be >= 0, got ", g.momentum);
    SEGCORE_CHECK(g.weight_decay >= 0.0, "SGD: weight_decay must be >= 0, got ", g.weight_decay);
    SEGCORE_CHECK(!g.nesterov || (g.momentum > 0.0 && g.dampening == 0.0),
                  "SGD: nesterov momentum requires a momentum > 0 and zero dampening (got momentum ", g.momentum,
                  ", dampening ", g.dampening, ")");
}

void SGD::update_group(const ParamGroup& g, const ops::OptimStepArgs& args,
                       const std::vector<std::vector<Tensor>>& buffers) {
    kernels::SgdParams p;
    p.lr = g.lr;
    p.momentum = g.momentum;
    p.dampening = g.dampening;
    p.weight_decay = g.weight_decay;
    p.nesterov = g.nesterov;
    ops::sgd_step_(args, buffers.empty() ? std::vector<Tensor>{} : buffers[0], p);
}

}  // namespace segcore::nn
