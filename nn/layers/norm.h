#pragma once
// BatchNorm2d with torch.nn's names: parameters "weight" (gamma, ones) and "bias" (beta, zeros);
// buffers "running_mean" (zeros), "running_var" (ones) and "num_batches_tracked" (i64), so
// torchvision checkpoints load unchanged. Training uses batch statistics and updates the running
// ones (momentum; momentum < 0 means a cumulative average, PyTorch's momentum=None); eval uses
// the running statistics. `act` fuses ReLU/ReLU6 into the same kernel (kernels/norm/batch_norm.h).
// Statistics and affine parameters stay f32 even when the module runs on f16/bf16 activations.
#include "autograd/functions.h"
#include "nn/module.h"

namespace segcore::nn {

struct BatchNormConfig {
    double eps = 1e-5;
    double momentum = 0.1;  // < 0: cumulative moving average (1 / num_batches_tracked)
    bool affine = true;
    bool track_running_stats = true;
    kernels::Act act = kernels::Act::None;
};

class BatchNorm2d : public Module {
public:
    explicit BatchNorm2d(int64_t num_features, BatchNormConfig cfg = {}, TensorOptions opt = {});
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    void reset_running_stats();

    Variable weight, bias;                                    // undefined when !affine
    Variable running_mean, running_var, num_batches_tracked;  // undefined when !track_running_stats
    const int64_t num_features;
    const BatchNormConfig cfg;
};

}  // namespace segcore::nn
