#pragma once
// Shared by the region losses (kernels/loss/dice.h, kernels/loss/lovasz.h): the checks of a
// (logits, labels) pair and the error for a label outside [0, C).
#include <cstdint>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"
#include "kernels/loss/pixel_loss.h"

namespace segcore::ops::region {

// The (logits, labels) checks and label dispatch are the per-pixel losses' (pixel_loss.h).
using loss_detail::check_logits_labels;
using loss_detail::Geometry;
using loss_detail::visit_label_dtype;

// Throws "<op>: label <v> at (n, d...) is outside [0, C) and is not the ignore_index <i>" for the
// pixel at flat index idx of labels (any device).
[[noreturn]] void throw_bad_label(const char* op, const Tensor& labels, int64_t idx, int64_t c, int64_t ignore_index);

}  // namespace segcore::ops::region
