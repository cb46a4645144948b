#pragma once
// Finding NaN and infinity in tensors: the trainer's diagnosis of a failed step and the check
// every weight load makes (nn::Module::load_state_dict) share these.
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace segcore {

// Index of the first NaN/inf element of a floating tensor (any device, any layout), or -1.
// Integer and bool tensors are always finite.
int64_t first_nonfinite(const Tensor& t);

// "element 1234 of 4096 = nan": element i of t (in row-major order), for messages.
std::string describe_element(const Tensor& t, int64_t i);

}  // namespace segcore
