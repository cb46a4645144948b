#pragma once
// Deterministic "formula" weights for model golden tests. A torchvision ResNet-50 FCN holds 35 M
// parameters (140 MB): too big to commit as a fixture. Instead both sides fill every state-dict
// entry from a closed formula of (entry index, element index), so a fixture only stores the input,
// the reference logits and the list of keys and shapes. tests/golden/formula_weights.py has the
// same function (formula_state_dict); change both or neither.
//
// For entry number k (state_dict order) with n elements, element i, t = sin(0.37 * i + 1.3 * k):
//   "...running_var"         1 + 0.25 * (1 + t)        (in [1, 1.5])
//   "...num_batches_tracked" 0
//   "...running_mean"        0.1 * t
//   1-d "weight" (BN gamma)  1 + 0.2 * t
//   other 1-d (biases)       0.1 * t
//   >= 2-d (conv/linear)     sqrt(3 / fan_in) * t,  fan_in = n / shape[0]   (unit-variance-ish outputs)
// computed in double, rounded to the entry's dtype.
#include <algorithm>
#include <cmath>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "nn/module.h"

namespace segcore::test {

inline bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

inline nn::NamedTensors formula_state_dict(const nn::Module& m) {
    nn::NamedTensors out;
    int64_t k = 0;
    for (const auto& [name, t] : m.state_dict()) {
        const int64_t n = t.numel();
        Tensor v = empty(t.shape(), DType::F64);
        double* d = v.data<double>();
        for (int64_t i = 0; i < n; ++i) {
            const double s = std::sin(0.37 * double(i) + 1.3 * double(k));
            if (ends_with(name, "running_var")) d[i] = 1.0 + 0.25 * (1.0 + s);
            else if (ends_with(name, "num_batches_tracked")) d[i] = 0.0;
            else if (ends_with(name, "running_mean")) d[i] = 0.1 * s;
            else if (t.dim() == 1 && ends_with(name, "weight")) d[i] = 1.0 + 0.2 * s;
            else if (t.dim() <= 1) d[i] = 0.1 * s;
            else d[i] = std::sqrt(3.0 / double(n / t.size(0))) * s;
        }
        out.emplace_back(name, v.to(t.dtype()));
        ++k;
    }
    return out;
}

}  // namespace segcore::test

namespace segcore::test {

// max |a - b| / max |b|: deep nets with random weights have outputs of any magnitude, so golden
// model tests bound the error relative to the largest reference value.
inline double max_relative_error(const Tensor& actual, const Tensor& expected) {
    const Tensor a = actual.to(DType::F64).cpu().contiguous(), b = expected.to(DType::F64).cpu().contiguous();
    double worst = 0, scale = 0;
    for (int64_t i = 0; i < b.numel(); ++i) {
        worst = std::max(worst, std::abs(a.data<double>()[i] - b.data<double>()[i]));
        scale = std::max(scale, std::abs(b.data<double>()[i]));
    }
    return scale > 0 ? worst / scale : worst;
}

}  // namespace segcore::test

namespace segcore::test {

// A module's state dict against a fixture's [[key, shape], ...], entry by entry (order included:
// formula weights and positional loaders depend on it).
inline void require_same_keys(const nn::Module& m, const nlohmann::json& keys) {
    const nn::NamedTensors sd = m.state_dict();
    REQUIRE(sd.size() == keys.size());
    for (size_t i = 0; i < sd.size(); ++i) {
        INFO("entry " << i);
        REQUIRE(sd[i].first == keys[i][0].get<std::string>());
        REQUIRE(sd[i].second.shape() == keys[i][1].get<Shape>());
    }
}

}  // namespace segcore::test
