#pragma once
// Shared by the region losses (kernels/loss/dice.h, kernels/loss/lovasz.h): the checks of a
// (logits, labels) pair and the error for a label outside [0, C).
#include <cstdint>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"

namespace segcore::ops::region {

struct Geometry {
    int64_t n = 0, c = 0, hw = 0;
};

// logits (N, C, d...) floating; labels (N, d...) i64/i32/u8 on the same device. Names the op and
// says what was expected and found.
Geometry check_logits_labels(const char* op, const Tensor& logits, const Tensor& labels);

// Throws "<op>: label <v> at (n, d...) is outside [0, C) and is not the ignore_index <i>" for the
// pixel at flat index idx of labels (any device).
[[noreturn]] void throw_bad_label(const char* op, const Tensor& labels, int64_t idx, int64_t c, int64_t ignore_index);

// Calls f(TypeTag<L>) for the label dtype (i64, i32, u8).
template <typename F>
decltype(auto) visit_label_dtype(DType t, const char* op, F&& f) {
    switch (t) {
        case DType::I64: return f(TypeTag<int64_t>{});
        case DType::I32: return f(TypeTag<int32_t>{});
        case DType::U8: return f(TypeTag<uint8_t>{});
        default: break;
    }
    SEGCORE_THROW(op, ": labels must be i64, i32 or u8, got ", dtype_name(t));
}

}  // namespace segcore::ops::region
