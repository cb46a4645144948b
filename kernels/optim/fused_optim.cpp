// ops:: fused optimiser steps: validate the lists, gather raw pointers, dispatch once per call.
#include <string>

#include "kernels/common/dispatch.h"
#include "kernels/optim/fused_optim.h"
#include "kernels/optim/multi_tensor_check.h"

namespace segcore::ops {

namespace {

using detail_mt::check_list;
using detail_mt::check_scalar;
using detail_mt::gather;

// Checks every list against params and the scaling / step inputs; returns the device and dtype.
void check_step_args(const char* op, const OptimStepArgs& a, const std::vector<const std::vector<Tensor>*>& state,
                     const std::vector<const char*>& state_names) {
    const size_t n = a.params.size();
    check_list(op, a.params, a.params, "params");
    check_list(op, a.params, a.grads, "grads");
    for (size_t k = 0; k < state.size(); ++k) check_list(op, a.params, *state[k], state_names[k]);
    SEGCORE_CHECK(a.steps.size() == n, op, ": expected one step count per parameter (", n, "), got ", a.steps.size());
    for (size_t i = 0; i < n; ++i)
        SEGCORE_CHECK(a.steps[i] >= 1, op, ": step count of parameter ", i, " must be >= 1 (this step included), got ",
                      a.steps[i]);
    SEGCORE_CHECK(a.skipped.empty() || a.skipped.size() == n, op, ": expected no skip counters or one per parameter (",
                  n, "), got ", a.skipped.size());
    if (n == 0) return;
    const Device dev = a.params[0].device();
    for (size_t i = 0; i < a.skipped.size(); ++i)
        check_scalar(op, a.skipped[i], DType::F32, dev, ("skipped[" + std::to_string(i) + "]").c_str());
    if (a.inv_scale.defined()) check_scalar(op, a.inv_scale, DType::F32, dev, "inv_scale");
    if (a.found_inf.defined()) check_scalar(op, a.found_inf, DType::F32, dev, "found_inf");
    if (dev.is_cuda())
        SEGCORE_CHECK(a.params[0].dtype() == DType::F32, op,
                      ": the CUDA fused optimisers take f32 parameters and "
                      "state (master weights), got ",
                      dtype_name(a.params[0].dtype()));
}

kernels::StepCounts step_counts(const OptimStepArgs& a) {
    kernels::StepCounts s;
    s.step = a.steps;
    for (const Tensor& t : a.skipped) s.skipped.push_back(t.data<float>());
    return s;
}

kernels::GradScaling scaling_of(const OptimStepArgs& a) {
    kernels::GradScaling g;
    if (a.inv_scale.defined()) g.inv_scale = a.inv_scale.data<float>();
    if (a.found_inf.defined()) g.found_inf = a.found_inf.data<float>();
    return g;
}

}  // namespace

void sgd_step_(const OptimStepArgs& a, const std::vector<Tensor>& momentum_buffers, const kernels::SgdParams& p) {
    const char* op = "sgd_step_";
    SEGCORE_CHECK(p.momentum != 0.0 || momentum_buffers.empty(), op,
                  ": momentum is 0, so no momentum buffers are expected, got ", momentum_buffers.size());
    SEGCORE_CHECK(!p.nesterov || (p.momentum > 0.0 && p.dampening == 0.0), op,
                  ": nesterov momentum requires a momentum > 0 and zero dampening (got momentum ", p.momentum,
                  ", dampening ", p.dampening, ")");
    if (p.momentum != 0.0)
        check_step_args(op, a, {&momentum_buffers}, {"momentum_buffers"});
    else
        check_step_args(op, a, {}, {});
    if (a.params.empty()) return;
    const kernels::StepCounts steps = step_counts(a);
    const kernels::GradScaling sc = scaling_of(a);
    if (a.params[0].is_cuda()) {
        SEGCORE_CUDA_CALL(kernels::sgd_step_cuda<float>(p, gather<float>({&a.params, &a.grads, &momentum_buffers}),
                                                        steps, sc, current_stream()));
    } else {
        visit_float_dtype(a.params[0].dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                kernels::sgd_step_cpu<T>(p, gather<T>({&a.params, &a.grads, &momentum_buffers}), steps, sc);
            } else {
                SEGCORE_THROW(op, ": the CPU fused optimisers take f32 or f64 parameters, got ",
                              dtype_name(a.params[0].dtype()));
            }
        });
    }
}

void adam_step_(const OptimStepArgs& a, const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<Tensor>& max_exp_avg_sqs, const kernels::AdamParams& p) {
    const char* op = p.decoupled_weight_decay ? "adamw_step_" : "adam_step_";
    SEGCORE_CHECK(p.amsgrad || max_exp_avg_sqs.empty(), op,
                  ": amsgrad is off, so no max_exp_avg_sqs are expected, got ", max_exp_avg_sqs.size());
    SEGCORE_CHECK(p.beta1 >= 0.0 && p.beta1 < 1.0 && p.beta2 >= 0.0 && p.beta2 < 1.0, op,
                  ": betas must be in [0, 1), got (", p.beta1, ", ", p.beta2, ")");
    if (p.amsgrad)
        check_step_args(op, a, {&exp_avgs, &exp_avg_sqs, &max_exp_avg_sqs},
                        {"exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs"});
    else
        check_step_args(op, a, {&exp_avgs, &exp_avg_sqs}, {"exp_avgs", "exp_avg_sqs"});
    if (a.params.empty()) return;
    const kernels::StepCounts steps = step_counts(a);
    const kernels::GradScaling sc = scaling_of(a);
    if (a.params[0].is_cuda()) {
        SEGCORE_CUDA_CALL(kernels::adam_step_cuda<float>(
            p, gather<float>({&a.params, &a.grads, &exp_avgs, &exp_avg_sqs, &max_exp_avg_sqs}), steps, sc,
            current_stream()));
    } else {
        visit_float_dtype(a.params[0].dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                kernels::adam_step_cpu<T>(
                    p, gather<T>({&a.params, &a.grads, &exp_avgs, &exp_avg_sqs, &max_exp_avg_sqs}), steps, sc);
            } else {
                SEGCORE_THROW(op, ": the CPU fused optimisers take f32 or f64 parameters, got ",
                              dtype_name(a.params[0].dtype()));
            }
        });
    }
}

}  // namespace segcore::ops
