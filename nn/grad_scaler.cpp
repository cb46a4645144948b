#include "nn/grad_scaler.h"

#include <vector>

#include "autograd/functions.h"
#include "core/error.h"
#include "kernels/elementwise/binary.h"
#include "kernels/optim/grad_ops.h"

namespace segcore::nn {

namespace {

std::vector<Tensor> grads_of(const Optimizer& opt) {
    std::vector<Tensor> grads;
    for (const ParamGroup& g : opt.param_groups())
        for (const autograd::Variable& p : g.params)
            if (p.grad().defined()) grads.push_back(p.grad());
    return grads;
}

}  // namespace

GradScaler::GradScaler(GradScalerOptions options) : options_(options) {
    SEGCORE_CHECK(options_.init_scale > 0.0, "GradScaler: init_scale must be > 0, got ", options_.init_scale);
    SEGCORE_CHECK(options_.growth_factor > 1.0, "GradScaler: growth_factor must be > 1, got ", options_.growth_factor);
    SEGCORE_CHECK(options_.backoff_factor > 0.0 && options_.backoff_factor < 1.0,
                  "GradScaler: backoff_factor must be in (0, 1), got ", options_.backoff_factor);
    SEGCORE_CHECK(options_.growth_interval > 0, "GradScaler: growth_interval must be > 0, got ",
                  options_.growth_interval);
}

void GradScaler::ensure_on(Device d) {
    if (!scale_.defined()) {
        scale_ = full({}, options_.init_scale, {DType::F32, d});
        growth_tracker_ = zeros({}, {DType::I32, d});
    } else if (!(scale_.device() == d)) {
        scale_ = scale_.to(d);
        growth_tracker_ = growth_tracker_.to(d);
    }
}

Tensor GradScaler::scale(const Tensor& x) {
    if (!options_.enabled) return x;
    SEGCORE_CHECK(x.defined(), "GradScaler::scale: the tensor is undefined");
    ensure_on(x.device());
    const Tensor s = x.dtype() == DType::F32 ? scale_ : scale_.to(x.dtype());
    return ops::mul(x, s);
}

autograd::Variable GradScaler::scale(const autograd::Variable& loss) {
    if (!options_.enabled) return loss;
    SEGCORE_CHECK(loss.defined(), "GradScaler::scale: the loss is undefined");
    ensure_on(loss.device());
    const Tensor s = loss.dtype() == DType::F32 ? scale_ : scale_.to(loss.dtype());
    return autograd::mul(loss, autograd::Variable(s));  // S is 0-d: broadcasts, and is a constant
}

GradScaler::PerOptimizer& GradScaler::prepare(Optimizer& opt, const char* who) {
    SEGCORE_CHECK(scale_.defined(), "GradScaler::", who,
                  ": no scale yet; call scale() on the loss (or backward seed) before unscale_/step");
    PerOptimizer& po = per_opt_[&opt];
    if (!po.found_inf.defined()) po.found_inf = zeros({}, {DType::F32, scale_.device()});
    return po;
}

void GradScaler::unscale_(Optimizer& opt) {
    if (!options_.enabled) return;
    PerOptimizer& po = prepare(opt, "unscale_");
    SEGCORE_CHECK(po.stage != Stage::Unscaled,
                  "GradScaler::unscale_: already called for this optimiser since the last update()");
    SEGCORE_CHECK(po.stage != Stage::Stepped, "GradScaler::unscale_: called after step(); call update() first");
    const Tensor inv_scale = ops::rdiv(scale_, 1.0);
    ops::non_finite_check_and_unscale_(grads_of(opt), po.found_inf, inv_scale);
    po.stage = Stage::Unscaled;
}

void GradScaler::step(Optimizer& opt) {
    if (!options_.enabled) {
        opt.step();
        return;
    }
    PerOptimizer& po = prepare(opt, "step");
    SEGCORE_CHECK(po.stage != Stage::Stepped,
                  "GradScaler::step: already called for this optimiser since the last update()");
    if (po.stage == Stage::Ready) {
        // Check only; the fused update unscales as it reads the grads.
        ops::non_finite_check_and_unscale_(grads_of(opt), po.found_inf, Tensor());
        opt.step_scaled(ops::rdiv(scale_, 1.0), po.found_inf);
    } else {
        opt.step_scaled(Tensor(), po.found_inf);
    }
    po.stage = Stage::Stepped;
}

void GradScaler::update() {
    if (!options_.enabled) return;
    SEGCORE_CHECK(scale_.defined(), "GradScaler::update: no scale yet (scale() was never called)");
    Tensor total;
    for (auto& [opt, po] : per_opt_) {
        if (!po.found_inf.defined() || po.stage == Stage::Ready) continue;
        total = total.defined() ? ops::add(total, po.found_inf) : po.found_inf;
    }
    SEGCORE_CHECK(total.defined(), "GradScaler::update: no inf checks were recorded (call unscale_ or step first)");
    ops::update_scale_(scale_, growth_tracker_, total, options_.growth_factor, options_.backoff_factor,
                       options_.growth_interval);
    per_opt_.clear();
}

double GradScaler::get_scale() const {
    if (!options_.enabled) return 1.0;
    return scale_.defined() ? double(scale_.item<float>()) : options_.init_scale;
}

int64_t GradScaler::get_growth_tracker() const {
    return growth_tracker_.defined() ? int64_t(growth_tracker_.item<int32_t>()) : 0;
}

Tensor GradScaler::found_inf(const Optimizer& opt) const {
    const auto it = per_opt_.find(&opt);
    return it == per_opt_.end() ? Tensor() : it->second.found_inf;
}

StateDict GradScaler::state_dict() const {
    StateDict sd;
    sd.metadata["type"] = "GradScaler";
    sd.tensors["scale"] = scale_.defined() ? scale_.cpu().clone() : full({}, options_.init_scale, DType::F32);
    sd.tensors["growth_tracker"] = growth_tracker_.defined() ? growth_tracker_.cpu().clone() : zeros({}, DType::I32);
    sd.put_f64("growth_factor", options_.growth_factor);
    sd.put_f64("backoff_factor", options_.backoff_factor);
    sd.put_i64("growth_interval", options_.growth_interval);
    sd.put_i64("enabled", options_.enabled ? 1 : 0);
    return sd;
}

void GradScaler::load_state_dict(const StateDict& sd) {
    const std::string who = "GradScaler.load_state_dict";
    SEGCORE_CHECK(sd.meta("type", who) == "GradScaler", who, ": the state dict was saved by ", sd.meta("type", who));
    const Tensor& s = sd.at("scale", who);
    const Tensor& t = sd.at("growth_tracker", who);
    SEGCORE_CHECK(s.numel() == 1 && s.dtype() == DType::F32, who, ": 'scale' must be one f32 value, got ",
                  s.meta_str());
    SEGCORE_CHECK(t.numel() == 1 && t.dtype() == DType::I32, who, ": 'growth_tracker' must be one i32 value, got ",
                  t.meta_str());
    GradScalerOptions o = options_;
    o.growth_factor = sd.get_f64("growth_factor", who);
    o.backoff_factor = sd.get_f64("backoff_factor", who);
    o.growth_interval = sd.get_i64("growth_interval", who);
    o.enabled = sd.get_i64("enabled", who) != 0;
    const Device d = scale_.defined() ? scale_.device() : Device::cpu();
    options_ = o;
    scale_ = s.reshape({}).to(d).clone();
    growth_tracker_ = t.reshape({}).to(d).clone();
    per_opt_.clear();
}

}  // namespace segcore::nn
