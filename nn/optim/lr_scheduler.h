#pragma once
// Iteration-based learning-rate schedules with optional warm-up, for segmentation training loops
// (mmseg-style: one scheduler step per iteration).
//
// Each group g keeps its own base_lr_g (group.lr when the scheduler is created), so a backbone
// group at 0.1x stays at 0.1x. At iteration i (0 at construction, +1 per step()):
//
//   lr_g(i) = schedule(i, base_lr_g) * warmup(i)
//
//   poly       schedule = (base - min_lr) * (1 - min(i, max_iters) / max_iters)^power + min_lr
//   cosine     schedule = eta_min + (base - eta_min) * (1 + cos(pi * min(i, T_max) / T_max)) / 2
//   step       schedule = base * gamma^floor(i / step_size)
//   multistep  schedule = base * gamma^(number of milestones <= i)
//   (min_lr and eta_min are absolute learning rates, as in mmseg and PyTorch; with 0 the schedule is
//   base * factor(i) for every group)
//
//   warm-up (i < warmup_iters, else 1), r = warmup_ratio:
//     linear       1 - (1 - i / warmup_iters) * (1 - r)      (PyTorch LinearLR with start_factor r)
//     exponential  r^(1 - i / warmup_iters)
//
// The constructor writes lr_g(0) into the groups (as PyTorch's schedulers do); step() advances i
// and writes lr_g(i). Call it once per iteration, after optimizer.step().
//
// state_dict: "type" (metadata), "last_iter" (i64), "num_groups" (i64), "base_lrs.<g>" (f64).
// Loading restores i and the base lrs and rewrites every group's lr, so resume is exact.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/optim/optimizer.h"
#include "nn/optim/state_dict.h"

namespace segcore::nn {

enum class WarmupKind { None, Linear, Exponential };

struct Warmup {
    WarmupKind kind = WarmupKind::None;
    int64_t iters = 0;
    double ratio = 0.1;  // the factor at iteration 0
};

class LRScheduler {
public:
    virtual ~LRScheduler() = default;
    LRScheduler(const LRScheduler&) = delete;
    LRScheduler& operator=(const LRScheduler&) = delete;

    void step();
    int64_t last_iter() const { return iter_; }
    const std::vector<double>& base_lrs() const { return base_lrs_; }
    std::vector<double> get_last_lr() const;
    // lr of a group with base lr `base_lr` at iteration `iter` (closed form; no state change).
    double lr_at(int64_t iter, double base_lr) const;
    double warmup_factor(int64_t iter) const;
    const std::string& type() const { return type_; }

    StateDict state_dict() const;
    void load_state_dict(const StateDict& sd);

protected:
    LRScheduler(Optimizer& opt, std::string type, Warmup warmup);
    virtual double schedule(int64_t iter, double base_lr) const = 0;
    void apply();  // writes lr_at(iter_, base) into every group

    Optimizer& opt_;
    std::string type_;
    Warmup warmup_;
    std::vector<double> base_lrs_;
    int64_t iter_ = 0;
};

class PolyLR final : public LRScheduler {
public:
    PolyLR(Optimizer& opt, int64_t max_iters, double power = 0.9, double min_lr = 0.0, Warmup warmup = {});

protected:
    double schedule(int64_t iter, double base_lr) const override;

private:
    int64_t max_iters_;
    double power_, min_lr_;
};

class CosineLR final : public LRScheduler {
public:
    CosineLR(Optimizer& opt, int64_t t_max, double eta_min = 0.0, Warmup warmup = {});

protected:
    double schedule(int64_t iter, double base_lr) const override;

private:
    int64_t t_max_;
    double eta_min_;
};

class StepLR final : public LRScheduler {
public:
    StepLR(Optimizer& opt, int64_t step_size, double gamma = 0.1, Warmup warmup = {});

protected:
    double schedule(int64_t iter, double base_lr) const override;

private:
    int64_t step_size_;
    double gamma_;
};

class MultiStepLR final : public LRScheduler {
public:
    MultiStepLR(Optimizer& opt, std::vector<int64_t> milestones, double gamma = 0.1, Warmup warmup = {});

protected:
    double schedule(int64_t iter, double base_lr) const override;

private:
    std::vector<int64_t> milestones_;
    double gamma_;
};

}  // namespace segcore::nn
