#pragma once
// GradScaler: dynamic loss scaling for f16 mixed precision, torch.cuda.amp.GradScaler semantics,
// with the scale, the growth tracker and found_inf kept on the device so no step waits for it.
//
//   scaler.scale(loss).backward();                  // a recorded loss * S: grads are scaled by S
//   (or: loss.backward(scaler.scale(ones_like(loss.data()))) with a seed tensor)
//   scaler.unscale_(opt);                           // optional: grads /= S (before clipping)
//   nn::clip_grad_norm_(params, 1.0);
//   scaler.step(opt);                               // skipped on the device if a grad is inf/NaN
//   scaler.update();                                // S *= backoff on inf, *= growth every interval
//
// step(opt) without a prior unscale_ checks the grads for inf/NaN (one read-only multi-tensor pass)
// and hands 1/S and found_inf to the fused update, which unscales while it reads the grads and
// skips on the device (the stored grads stay scaled). After unscale_ the grads are unscaled in place
// (PyTorch's behaviour) and step() passes only found_inf.
//
// update(): found_inf of every optimiser stepped since the last update are summed, then
//   found_inf: S *= backoff_factor, tracker = 0
//   else:      tracker += 1; when tracker == growth_interval: S *= growth_factor (if finite), tracker = 0
// All on the device (kernels/optim/grad_ops.h, update_scale_).
//
// Works on CPU tensors the same way (tests). The scale lives on the device of the first loss passed
// to scale() (moved there if it was loaded elsewhere). Disabled (enabled = false): scale() returns
// its argument, step() calls opt.step(), update() does nothing.
//
// state_dict: "scale" (f32), "growth_tracker" (i32), "growth_factor", "backoff_factor" (f64),
// "growth_interval" (i64), "enabled" (i64); metadata "type" = "GradScaler".
#include <cstdint>
#include <map>

#include "autograd/variable.h"
#include "core/tensor.h"
#include "nn/optim/optimizer.h"
#include "nn/optim/state_dict.h"

namespace segcore::nn {

struct GradScalerOptions {
    double init_scale = 65536.0;
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int64_t growth_interval = 2000;
    bool enabled = true;
};

class GradScaler {
public:
    explicit GradScaler(GradScalerOptions options = {});

    bool is_enabled() const { return options_.enabled; }
    // x * S, on x's device (S is created there on first use).
    Tensor scale(const Tensor& x);
    // loss * S as a recorded op, so `scaler.scale(loss).backward()` scales every gradient by S.
    autograd::Variable scale(const autograd::Variable& loss);
    // Divides every grad of opt by S in place and records found_inf for opt. Once per step.
    void unscale_(Optimizer& opt);
    // opt's update, skipped on the device when a grad is not finite.
    void step(Optimizer& opt);
    void update();

    // The current scale and tracker (these wait for the device).
    double get_scale() const;
    int64_t get_growth_tracker() const;
    // The device tensor S (undefined before the first scale()).
    const Tensor& scale_tensor() const { return scale_; }
    // found_inf recorded for opt in this iteration (undefined if none): 1-element f32.
    Tensor found_inf(const Optimizer& opt) const;

    StateDict state_dict() const;
    void load_state_dict(const StateDict& sd);

private:
    enum class Stage { Ready, Unscaled, Stepped };
    struct PerOptimizer {
        Stage stage = Stage::Ready;
        Tensor found_inf;
    };

    void ensure_on(Device d);
    PerOptimizer& prepare(Optimizer& opt, const char* who);

    GradScalerOptions options_;
    Tensor scale_;           // f32 {}, created lazily
    Tensor growth_tracker_;  // i32 {}
    std::map<const Optimizer*, PerOptimizer> per_opt_;
};

}  // namespace segcore::nn
