#include "nn/layers/norm.h"

#include <sstream>

#include "core/error.h"
#include "kernels/elementwise/int_add.h"

namespace segcore::nn {

BatchNorm2d::BatchNorm2d(int64_t c, BatchNormConfig config, TensorOptions opt)
    : Module("BatchNorm2d"), num_features(c), cfg(config) {
    SEGCORE_CHECK(c > 0, "BatchNorm2d: num_features must be positive, got ", c);
    SEGCORE_CHECK(is_floating(opt.dtype), "BatchNorm2d: parameters must be floating, got ", dtype_name(opt.dtype));
    if (cfg.affine) {
        weight = register_parameter("weight", ones({c}, opt));
        bias = register_parameter("bias", zeros({c}, opt));
    }
    if (cfg.track_running_stats) {
        running_mean = register_buffer("running_mean", zeros({c}, opt));
        running_var = register_buffer("running_var", ones({c}, opt));
        num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, {DType::I64, opt.device}));
    }
}

void BatchNorm2d::reset_running_stats() {
    if (!cfg.track_running_stats) return;
    Tensor m = running_mean.data(), v = running_var.data(), n = num_batches_tracked.data();
    m.zero_();
    v.fill_(1.0);
    n.zero_();
}

Variable BatchNorm2d::forward(const Variable& x) {
    const bool use_batch_stats = is_training() || !cfg.track_running_stats;
    double momentum = cfg.momentum;
    Tensor rm, rv;
    if (cfg.track_running_stats) {
        rm = running_mean.data();
        rv = running_var.data();
        if (is_training()) {
            // The counter lives on the module's device; bumping it is one tiny kernel, no host sync
            // (except for the cumulative-average mode, which needs its value on the host).
            Tensor n = num_batches_tracked.data();
            ops::int_add_(n, 1);
            if (cfg.momentum < 0) momentum = 1.0 / double(n.item<int64_t>());
        }
    }
    // Running stats are updated only in training mode; in eval without tracking, none are passed.
    return autograd::batch_norm(x, weight, bias, is_training() ? rm : (use_batch_stats ? Tensor() : rm),
                                is_training() ? rv : (use_batch_stats ? Tensor() : rv), use_batch_stats, momentum,
                                cfg.eps, cfg.act);
}

std::string BatchNorm2d::extra_repr() const {
    std::ostringstream os;
    os << num_features << ", eps=" << cfg.eps << ", momentum=" << cfg.momentum
       << ", affine=" << (cfg.affine ? "True" : "False")
       << ", track_running_stats=" << (cfg.track_running_stats ? "True" : "False");
    if (cfg.act != kernels::Act::None) os << ", act=" << kernels::act_name(cfg.act);
    return os.str();
}

}  // namespace segcore::nn
