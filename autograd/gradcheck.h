#pragma once
// gradcheck: compares the gradients backward() computes with central finite differences, in f64
// on the CPU.
//
// For a function f of some inputs, with output y, it draws random weights v (fixed seed) and
// checks d(v . y)/dx_i for every element of every input that requires a gradient:
//   analytic   one backward pass of v from y;
//   numeric    (v . f(x + eps e_i) - v . f(x - eps e_i)) / (2 eps).
// A random projection per check (PyTorch's fast mode) catches a wrong Jacobian with probability 1
// at the cost of 1 backward and 2N forwards instead of a full M x N Jacobian; `projections`
// repeats it with fresh weights.
#include <functional>
#include <string>
#include <vector>

#include "autograd/variable.h"

namespace segcore::autograd {

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-6;
    double rtol = 1e-4;
    int projections = 2;
    uint64_t seed = 1234;
};

struct GradcheckResult {
    bool ok = true;
    std::string message;  // the first mismatch: input, element, analytic vs numeric
    double max_abs_error = 0;
};

using GradcheckFn = std::function<Variable(const std::vector<Variable>&)>;

// inputs: f64 CPU tensors (copied; floating inputs require grad unless listed in no_grad).
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt = {}, const std::vector<size_t>& no_grad = {});

}  // namespace segcore::autograd
