#include "seg/train/optim_factory.h"

#include <limits>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "nn/optim/adam.h"
#include "nn/optim/sgd.h"

namespace segcore::seg {

std::unique_ptr<nn::Optimizer> make_optimizer(const OptimizerSection& cfg, const nn::Module& model) {
    std::vector<std::regex> rules;
    for (const GroupRule& g : cfg.groups) rules.emplace_back(g.match);
    std::vector<autograd::Variable> rest;
    std::vector<std::vector<autograd::Variable>> grouped(cfg.groups.size());
    for (const auto& [name, p] : model.named_parameters()) {
        size_t k = 0;
        while (k < rules.size() && !std::regex_search(name, rules[k])) ++k;
        (k < rules.size() ? grouped[k] : rest).push_back(p);
    }
    for (size_t k = 0; k < grouped.size(); ++k)
        SEGCORE_CHECK(!grouped[k].empty(), "optimizer.groups[", k, "].match: '", cfg.groups[k].match,
                      "' matches no parameter name (segcore info MODEL lists them)");

    std::unique_ptr<nn::Optimizer> opt;
    if (cfg.type == "sgd") {
        nn::SgdOptions o;
        o.lr = cfg.lr;
        o.momentum = cfg.momentum;
        o.weight_decay = cfg.weight_decay;
        o.nesterov = cfg.nesterov;
        opt = std::make_unique<nn::SGD>(rest, o);
    } else {
        nn::AdamOptions o;
        o.lr = cfg.lr;
        o.beta1 = cfg.beta1;
        o.beta2 = cfg.beta2;
        o.eps = cfg.eps;
        o.weight_decay = cfg.weight_decay;
        o.amsgrad = cfg.amsgrad;
        if (cfg.type == "adam")
            opt = std::make_unique<nn::Adam>(rest, o);
        else
            opt = std::make_unique<nn::AdamW>(rest, o);
    }
    for (size_t k = 0; k < grouped.size(); ++k) {
        nn::ParamGroup g = opt->make_group(grouped[k]);
        g.lr = cfg.lr * cfg.groups[k].lr_mult;
        if (cfg.groups[k].weight_decay) g.weight_decay = *cfg.groups[k].weight_decay;
        opt->add_param_group(g);
    }
    return opt;
}

std::unique_ptr<nn::LRScheduler> make_scheduler(const SchedulerSection& cfg, nn::Optimizer& opt, int64_t total_iters) {
    const int64_t n = std::max<int64_t>(1, total_iters);
    if (cfg.type == "poly") return std::make_unique<nn::PolyLR>(opt, n, cfg.power, cfg.min_lr, cfg.warmup);
    if (cfg.type == "cosine") return std::make_unique<nn::CosineLR>(opt, n, cfg.min_lr, cfg.warmup);
    if (cfg.type == "step") return std::make_unique<nn::StepLR>(opt, cfg.step_size, cfg.gamma, cfg.warmup);
    if (cfg.type == "multistep") return std::make_unique<nn::MultiStepLR>(opt, cfg.milestones, cfg.gamma, cfg.warmup);
    // constant: a step schedule that never steps (keeps the warm-up machinery and the state format).
    return std::make_unique<nn::StepLR>(opt, std::numeric_limits<int64_t>::max(), 1.0, cfg.warmup);
}

std::string describe_groups(const nn::Optimizer& opt, const OptimizerSection& cfg) {
    std::ostringstream s;
    const auto& groups = opt.param_groups();
    for (size_t g = 0; g < groups.size(); ++g) {
        int64_t n = 0;
        for (const auto& p : groups[g].params) n += p.data().numel();
        s << (g ? "; " : "") << "group " << g;
        if (g > 0) s << " (" << cfg.groups[g - 1].match << ")";
        // The configured rate (the groups hold the warm-up's first value by now).
        const double lr = cfg.lr * (g > 0 ? cfg.groups[g - 1].lr_mult : 1.0);
        s << ": " << groups[g].params.size() << " tensors, " << n << " values, lr " << lr << ", wd "
          << groups[g].weight_decay;
    }
    return s.str();
}

}  // namespace segcore::seg
