#pragma once
// Optimiser base: parameter groups, per-parameter state, zero_grad, state_dict.
//
// A step updates every parameter that has a gradient, group by group, through the fused multi-tensor
// kernels of kernels/optim (one CUDA launch per group). Parameters are autograd::Variable handles:
// the optimiser writes their data() in place, so a Module holding the same Variables sees the update.
//
// Groups: each ParamGroup carries its own lr and weight decay (and the hyper-parameters of every
// optimiser; each optimiser reads its own). make_group() returns a group filled with the optimiser's
// defaults, so a lower backbone learning rate is
//     auto g = opt.make_group(backbone_params); g.lr *= 0.1; opt.add_param_group(g);
// Learning-rate schedules (lr_scheduler.h) write group.lr before each step.
//
// Step counts and loss scaling: state "step" counts the updates a parameter has received. The host
// counts step() calls and the device counts the ones GradScaler skipped (found_inf), so a skipped
// step costs no host sync (kernels/optim/multi_tensor.h, StepCounts); state_dict() reads the device
// counter once and stores the net count.
//
// state_dict keys (all 0-d unless said otherwise; metadata in quotes):
//   "type"                          metadata: "SGD", "Adam" or "AdamW"
//   param_groups.<g>.num_params     i64
//   param_groups.<g>.<hyper>        f64: lr, weight_decay, momentum, dampening, beta1, beta2, eps;
//                                   i64 0/1: nesterov, amsgrad
//   state.<g>.<i>.step              i64, for each parameter i of group g that has state
//   state.<g>.<i>.<buffer>          the parameter's shape: momentum_buffer (SGD with momentum),
//                                   exp_avg, exp_avg_sq, max_exp_avg_sq (Adam/AdamW, amsgrad)
// load_state_dict checks the type, the number of groups and of parameters per group and every
// buffer's shape, and restores hyper-parameters and state (on each parameter's device).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "core/tensor.h"
#include "kernels/optim/fused_optim.h"
#include "nn/optim/state_dict.h"

namespace segcore::nn {

struct ParamGroup {
    std::vector<autograd::Variable> params;
    double lr = 1e-3;
    double weight_decay = 0.0;
    // SGD
    double momentum = 0.0;
    double dampening = 0.0;
    bool nesterov = false;
    // Adam / AdamW
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    bool amsgrad = false;
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    const std::string& type() const { return type_; }

    // One update of every parameter with a defined grad.
    void step() { step_scaled(Tensor(), Tensor()); }
    // The GradScaler path: grads are read multiplied by inv_scale (when defined) and the whole step
    // is skipped on the device when found_inf (when defined) is non-zero. Both 1-element f32 tensors
    // on the parameters' device.
    void step_scaled(const Tensor& inv_scale, const Tensor& found_inf);

    // Drops (set_to_none) or zero-fills every parameter's grad.
    void zero_grad(bool set_to_none = true);

    std::vector<ParamGroup>& param_groups() { return groups_; }
    const std::vector<ParamGroup>& param_groups() const { return groups_; }
    // A group with this optimiser's default hyper-parameters.
    ParamGroup make_group(std::vector<autograd::Variable> params) const;
    // Adds a group; a parameter may belong to one group only.
    void add_param_group(ParamGroup group);

    StateDict state_dict() const;
    void load_state_dict(const StateDict& sd);

    // The state of parameter i of group g (empty until its first step), for tests and tools.
    int64_t param_step(size_t group, size_t index) const;
    Tensor param_buffer(size_t group, size_t index, const std::string& name) const;

protected:
    Optimizer(std::string type, ParamGroup defaults);

    struct ParamState {
        int64_t step = 0;  // step() calls that updated (or tried to update) this parameter
        Tensor skipped;    // f32 scalar on the parameter's device: calls skipped by found_inf
        std::map<std::string, Tensor> buffers;
    };

    // Buffers this optimiser keeps for a parameter of group g (created zero-filled on first use).
    virtual std::vector<std::string> buffer_names(const ParamGroup& g) const = 0;
    // Throws when a hyper-parameter is out of range (named, with the value).
    virtual void check_group(const ParamGroup& g) const = 0;
    // Runs the fused update of one group. args holds the parameters with grads, their step counts
    // (already incremented) and skip counters; buffers[k] lists buffer_names(g)[k] of each.
    virtual void update_group(const ParamGroup& g, const ops::OptimStepArgs& args,
                              const std::vector<std::vector<Tensor>>& buffers) = 0;

    std::string type_;
    ParamGroup defaults_;
    std::vector<ParamGroup> groups_;
    std::vector<std::vector<ParamState>> state_;  // [group][index]
};

}  // namespace segcore::nn
