#pragma once
// Finding the first non-finite tensor when a training step produced a NaN or an infinity, so the
// error names where it came from instead of just "loss is nan".
#include <string>
#include <vector>

#include "core/nonfinite.h"  // first_nonfinite
#include "core/tensor.h"
#include "seg/models/model.h"

namespace segcore::seg {

// Looks, in order, at: the parameters (by name), their gradients (when `grads`), the input images,
// and (re-running the forward pass without recording, buffers restored afterwards) the output of
// every module call in execution order. Returns a sentence naming the first non-finite tensor
// ("the output of 'decoder.up2' (ConvTranspose2d), element 1234 = nan"), or a sentence saying
// everything looked finite (then the loss itself overflowed).
std::string locate_nonfinite(SegModel& model, const Tensor& images, bool grads);

}  // namespace segcore::seg
