#pragma once
// Autocast: mixed precision by policy, per op (docs/numerics.md has the table).
//
// Inside an AutocastGuard(dtype = f16 or bf16), each differentiable function casts its floating
// inputs before running, as its entry in the policy table says:
//   LowerPrecision  run in the autocast dtype: matmul, linear, convolutions (tensor-core work);
//   Float32         run in f32: softmax, log_softmax, losses, normalisation statistics,
//                   reductions, exp/log/pow — where f16's range or precision loses accuracy;
//   Promote         mixed inputs run in the widest input dtype: add, mul, where, concat, ...;
//   (not listed)    run in whatever dtype the inputs have (activations, views).
// The casts are recorded like any op, so gradients flow back to the f32 master weights in f32.
// f64 inputs are never cast (gradcheck stays in f64). The policy works on the CPU too, where
// f16/bf16 kernels compute in f32, so the logic is tested without a GPU.
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"
#include "core/dtype.h"

namespace segcore::autograd {

enum class CastPolicy { LowerPrecision, Float32, Promote, None };
const char* cast_policy_name(CastPolicy p);

// The policy for an op name ("matmul", "softmax", "conv2d", ...); None for names not in the table.
CastPolicy autocast_policy(const std::string& op);
// The whole table, for documentation and `segcore info`.
const std::vector<std::pair<std::string, CastPolicy>>& autocast_table();

bool autocast_enabled();
DType autocast_dtype();

class AutocastGuard {
public:
    // dtype must be F16 or BF16; enabled = false turns autocast off inside (e.g. for a loss).
    explicit AutocastGuard(DType dtype = DType::BF16, bool enabled = true);
    ~AutocastGuard();
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    bool prev_enabled_;
    DType prev_dtype_;
};

// Casts `inputs` for `op` per the policy (a no-op when autocast is off). Functions call this
// first: `auto in = autocast_inputs("matmul", {a, b});`.
std::vector<Variable> autocast_inputs(const char* op, std::vector<Variable> inputs);

}  // namespace segcore::autograd
