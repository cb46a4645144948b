#include "autograd/autocast.h"

#include <algorithm>

#include "autograd/functions.h"
#include "core/error.h"

namespace segcore::autograd {

namespace {
thread_local bool t_enabled = false;
thread_local DType t_dtype = DType::BF16;

bool castable(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

}  // namespace

const char* cast_policy_name(CastPolicy p) {
    switch (p) {
        case CastPolicy::LowerPrecision:
            return "lower_precision";
        case CastPolicy::Float32:
            return "float32";
        case CastPolicy::Promote:
            return "promote";
        case CastPolicy::None:
            return "none";
    }
    return "none";
}

const std::vector<std::pair<std::string, CastPolicy>>& autocast_table() {
    using P = CastPolicy;
    static const std::vector<std::pair<std::string, CastPolicy>> table = {
        // Tensor-core work: f16/bf16 inputs, f32 accumulation inside the kernel.
        {"matmul", P::LowerPrecision},
        {"linear", P::LowerPrecision},
        {"conv2d", P::LowerPrecision},
        {"depthwise_conv2d", P::LowerPrecision},
        {"conv_transpose2d", P::LowerPrecision},
        // Range- or precision-sensitive: f32. (batch_norm is not listed: it takes 16-bit input
        // as it is and keeps its statistics, weight and bias in f32 internally.)
        {"softmax", P::Float32},
        {"log_softmax", P::Float32},
        {"cross_entropy", P::Float32},
        {"nll_loss", P::Float32},
        {"dice_loss", P::Float32},
        {"focal_loss", P::Float32},
        {"lovasz_softmax", P::Float32},
        {"kl_div", P::Float32},
        {"mse_loss", P::Float32},
        {"layer_norm", P::Float32},
        {"group_norm", P::Float32},
        {"sum", P::Float32},
        {"mean", P::Float32},
        {"var", P::Float32},
        {"std", P::Float32},
        {"exp", P::Float32},
        {"log", P::Float32},
        {"pow", P::Float32},
        {"rsqrt", P::Float32},
        {"rdiv", P::Float32},
        // Mixed inputs: the widest dtype.
        {"add", P::Promote},
        {"sub", P::Promote},
        {"mul", P::Promote},
        {"div", P::Promote},
        {"maximum", P::Promote},
        {"minimum", P::Promote},
        {"where", P::Promote},
        {"concat", P::Promote},
        {"stack", P::Promote},
    };
    return table;
}

CastPolicy autocast_policy(const std::string& op) {
    for (const auto& [name, p] : autocast_table())
        if (name == op) return p;
    return CastPolicy::None;
}

bool autocast_enabled() { return t_enabled; }
DType autocast_dtype() { return t_dtype; }

AutocastGuard::AutocastGuard(DType dtype, bool enabled) : prev_enabled_(t_enabled), prev_dtype_(t_dtype) {
    SEGCORE_CHECK(dtype == DType::F16 || dtype == DType::BF16, "AutocastGuard: the autocast dtype must be f16 or bf16, got ",
                  dtype_name(dtype));
    t_enabled = enabled;
    t_dtype = dtype;
}

AutocastGuard::~AutocastGuard() {
    t_enabled = prev_enabled_;
    t_dtype = prev_dtype_;
}

std::vector<Variable> autocast_inputs(const char* op, std::vector<Variable> inputs) {
    if (!t_enabled) return inputs;
    const CastPolicy p = autocast_policy(op);
    DType target = DType::F32;
    switch (p) {
        case CastPolicy::None:
            return inputs;
        case CastPolicy::LowerPrecision:
            target = t_dtype;
            break;
        case CastPolicy::Float32:
            target = DType::F32;
            break;
        case CastPolicy::Promote: {
            // The widest floating input wins; f16 with bf16 meets in f32 (neither holds the other).
            bool f16 = false, bf16 = false, f32 = false;
            for (const Variable& v : inputs) {
                if (!v.defined()) continue;
                f16 = f16 || v.dtype() == DType::F16;
                bf16 = bf16 || v.dtype() == DType::BF16;
                f32 = f32 || v.dtype() == DType::F32;
            }
            if (int(f16) + int(bf16) + int(f32) < 2) return inputs;  // nothing mixed
            target = (f32 || (f16 && bf16)) ? DType::F32 : (f16 ? DType::F16 : DType::BF16);
            break;
        }
    }
    for (Variable& v : inputs)
        if (v.defined() && castable(v.dtype()) && v.dtype() != target) v = to(v, target);
    return inputs;
}

}  // namespace segcore::autograd
