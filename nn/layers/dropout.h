#pragma once
// Dropout2d: channel dropout for feature maps (N, C, H, W) — each (n, c) plane is zeroed with
// probability p in training mode and the survivors scaled by 1 / (1 - p); identity in eval.
// The mask is drawn from the Philox generator (kernels/dropout/dropout.h): the same on CPU and
// CUDA for the same seed. (Elementwise Dropout lives in nn/layers/container.h.)
#include "nn/module.h"

namespace segcore::nn {

class Dropout2d : public Module {
public:
    explicit Dropout2d(double p = 0.5, Generator* gen = nullptr);
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    const double p;

private:
    Generator* gen_;
};

}  // namespace segcore::nn
