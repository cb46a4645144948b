#include "nn/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.h"

namespace segcore::nn {

LRScheduler::LRScheduler(Optimizer& opt, std::string type, Warmup warmup)
    : opt_(opt), type_(std::move(type)), warmup_(warmup) {
    SEGCORE_CHECK(warmup_.kind == WarmupKind::None || warmup_.iters > 0, type_,
                  ": warm-up needs warmup_iters > 0, got ", warmup_.iters);
    SEGCORE_CHECK(warmup_.kind == WarmupKind::None || (warmup_.ratio > 0.0 && warmup_.ratio <= 1.0), type_,
                  ": warmup_ratio must be in (0, 1], got ", warmup_.ratio);
    for (const ParamGroup& g : opt_.param_groups()) base_lrs_.push_back(g.lr);
}

double LRScheduler::warmup_factor(int64_t iter) const {
    if (warmup_.kind == WarmupKind::None || iter >= warmup_.iters) return 1.0;
    const double progress = double(iter) / double(warmup_.iters);
    if (warmup_.kind == WarmupKind::Linear) return 1.0 - (1.0 - progress) * (1.0 - warmup_.ratio);
    return std::pow(warmup_.ratio, 1.0 - progress);
}

double LRScheduler::lr_at(int64_t iter, double base_lr) const { return schedule(iter, base_lr) * warmup_factor(iter); }

void LRScheduler::apply() {
    std::vector<ParamGroup>& groups = opt_.param_groups();
    SEGCORE_CHECK(groups.size() == base_lrs_.size(), type_, ": the optimiser has ", groups.size(),
                  " parameter groups but the scheduler was created with ", base_lrs_.size(),
                  " (create the scheduler after adding every group)");
    for (size_t g = 0; g < groups.size(); ++g) groups[g].lr = lr_at(iter_, base_lrs_[g]);
}

void LRScheduler::step() {
    ++iter_;
    apply();
}

std::vector<double> LRScheduler::get_last_lr() const {
    std::vector<double> lrs;
    for (const ParamGroup& g : opt_.param_groups()) lrs.push_back(g.lr);
    return lrs;
}

StateDict LRScheduler::state_dict() const {
    StateDict sd;
    sd.metadata["type"] = type_;
    sd.put_i64("last_iter", iter_);
    sd.put_i64("num_groups", int64_t(base_lrs_.size()));
    for (size_t g = 0; g < base_lrs_.size(); ++g) sd.put_f64("base_lrs." + std::to_string(g), base_lrs_[g]);
    return sd;
}

void LRScheduler::load_state_dict(const StateDict& sd) {
    const std::string who = type_ + ".load_state_dict";
    const std::string& type = sd.meta("type", who);
    SEGCORE_CHECK(type == type_, who, ": the state dict was saved by ", type, ", not ", type_);
    const int64_t n = sd.get_i64("num_groups", who);
    SEGCORE_CHECK(n == int64_t(opt_.param_groups().size()), who, ": the state dict has ", n,
                  " groups, the optimiser has ", opt_.param_groups().size());
    const int64_t iter = sd.get_i64("last_iter", who);
    SEGCORE_CHECK(iter >= 0, who, ": last_iter is negative (", iter, ")");
    std::vector<double> base(size_t(n), 0.0);
    for (int64_t g = 0; g < n; ++g) base[size_t(g)] = sd.get_f64("base_lrs." + std::to_string(g), who);
    iter_ = iter;
    base_lrs_ = std::move(base);
    apply();
}

// ---- schedules ----

PolyLR::PolyLR(Optimizer& opt, int64_t max_iters, double power, double min_lr, Warmup warmup)
    : LRScheduler(opt, "PolyLR", warmup), max_iters_(max_iters), power_(power), min_lr_(min_lr) {
    SEGCORE_CHECK(max_iters > 0, "PolyLR: max_iters must be > 0, got ", max_iters);
    SEGCORE_CHECK(power >= 0.0, "PolyLR: power must be >= 0, got ", power);
    apply();
}

double PolyLR::schedule(int64_t iter, double base_lr) const {
    const double progress = double(std::min(iter, max_iters_)) / double(max_iters_);
    return (base_lr - min_lr_) * std::pow(1.0 - progress, power_) + min_lr_;
}

CosineLR::CosineLR(Optimizer& opt, int64_t t_max, double eta_min, Warmup warmup)
    : LRScheduler(opt, "CosineLR", warmup), t_max_(t_max), eta_min_(eta_min) {
    SEGCORE_CHECK(t_max > 0, "CosineLR: T_max must be > 0, got ", t_max);
    apply();
}

double CosineLR::schedule(int64_t iter, double base_lr) const {
    const double progress = double(std::min(iter, t_max_)) / double(t_max_);
    return eta_min_ + (base_lr - eta_min_) * (1.0 + std::cos(M_PI * progress)) / 2.0;
}

StepLR::StepLR(Optimizer& opt, int64_t step_size, double gamma, Warmup warmup)
    : LRScheduler(opt, "StepLR", warmup), step_size_(step_size), gamma_(gamma) {
    SEGCORE_CHECK(step_size > 0, "StepLR: step_size must be > 0, got ", step_size);
    apply();
}

double StepLR::schedule(int64_t iter, double base_lr) const {
    return base_lr * std::pow(gamma_, double(iter / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma, Warmup warmup)
    : LRScheduler(opt, "MultiStepLR", warmup), milestones_(std::move(milestones)), gamma_(gamma) {
    SEGCORE_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()),
                  "MultiStepLR: milestones must be in increasing order");
    apply();
}

double MultiStepLR::schedule(int64_t iter, double base_lr) const {
    const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), iter) - milestones_.begin();
    return base_lr * std::pow(gamma_, double(passed));
}

}  // namespace segcore::nn
