#pragma once
// Containers and trivial layers: Sequential (children named "0", "1", ... like PyTorch, so
// "features.3.weight" means the same thing in both), Identity and Dropout.
#include <memory>
#include <vector>

#include "nn/module.h"

namespace segcore::nn {

class Sequential : public Module {
public:
    Sequential() : Module("Sequential") {}
    explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
    void push_back(std::shared_ptr<Module> m);
    Variable forward(const Variable& x) override;
    size_t size() const { return layers_.size(); }
    Module& operator[](size_t i) const { return *layers_.at(i); }

private:
    std::vector<std::shared_ptr<Module>> layers_;
};

// Holds child modules under "0", "1", ... like torch.nn.ModuleList, so a parent's keys read
// "convs.2.0.weight" in both. It has no forward: the owner decides how the children are called
// (ASPP runs every branch on the same input and concatenates).
class ModuleList : public Module {
public:
    ModuleList() : Module("ModuleList") {}
    explicit ModuleList(std::vector<std::shared_ptr<Module>> modules);
    void push_back(std::shared_ptr<Module> m);
    size_t size() const { return modules_.size(); }
    Module& operator[](size_t i) const { return *modules_.at(i); }

private:
    std::vector<std::shared_ptr<Module>> modules_;
};

class Identity : public Module {
public:
    Identity() : Module("Identity") {}
    Variable forward(const Variable& x) override { return x; }
};

// Zeroes elements with probability p in training mode (nn/functional.h dropout); identity in eval.
class Dropout : public Module {
public:
    explicit Dropout(double p = 0.5, Generator* gen = nullptr);
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    const double p;

private:
    Generator* gen_;
};

}  // namespace segcore::nn
