#pragma once
// Activation modules (no parameters); each is the autograd function of the same name.
#include "nn/module.h"

namespace segcore::nn {

class ReLU : public Module {
public:
    ReLU() : Module("ReLU") {}
    Variable forward(const Variable& x) override;
};

class ReLU6 : public Module {
public:
    ReLU6() : Module("ReLU6") {}
    Variable forward(const Variable& x) override;
};

class LeakyReLU : public Module {
public:
    explicit LeakyReLU(double negative_slope = 0.01) : Module("LeakyReLU"), negative_slope(negative_slope) {}
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    const double negative_slope;
};

class GELU : public Module {
public:
    explicit GELU(bool tanh_approximation = false) : Module("GELU"), tanh_approximation(tanh_approximation) {}
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    const bool tanh_approximation;
};

class Sigmoid : public Module {
public:
    Sigmoid() : Module("Sigmoid") {}
    Variable forward(const Variable& x) override;
};

class Tanh : public Module {
public:
    Tanh() : Module("Tanh") {}
    Variable forward(const Variable& x) override;
};

class Hardswish : public Module {
public:
    Hardswish() : Module("Hardswish") {}
    Variable forward(const Variable& x) override;
};

}  // namespace segcore::nn
