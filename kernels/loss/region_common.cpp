// Checks shared by the region losses (kernels/loss/region_common.h).
#include "kernels/loss/region_common.h"

#include <sstream>

#include "kernels/common/dispatch.h"

namespace segcore::ops::region {

Geometry check_logits_labels(const char* op, const Tensor& logits, const Tensor& labels) {
    check_defined(op, {&logits, &labels});
    check_floating(op, logits, "logits");
    SEGCORE_CHECK(logits.dim() >= 2, op, ": logits must be (N, C, H, W) (or (N, C, d...)), got ",
                  shape_str(logits.shape()));
    SEGCORE_CHECK(labels.dtype() == DType::I64 || labels.dtype() == DType::I32 || labels.dtype() == DType::U8, op,
                  ": labels must be i64, i32 or u8, got ", dtype_name(labels.dtype()));
    SEGCORE_CHECK(labels.device() == logits.device(), op, ": labels are on ", labels.device().str(),
                  " but logits are on ", logits.device().str());
    Shape expect;
    expect.push_back(logits.size(0));
    for (int64_t d = 2; d < logits.dim(); ++d) expect.push_back(logits.size(d));
    SEGCORE_CHECK(labels.shape() == expect, op, ": labels must be ", shape_str(expect), " for logits ",
                  shape_str(logits.shape()), ", got ", shape_str(labels.shape()));
    SEGCORE_CHECK(logits.size(1) > 0, op, ": logits need at least one class, got ", shape_str(logits.shape()));
    Geometry g;
    g.n = logits.size(0);
    g.c = logits.size(1);
    g.hw = 1;
    for (int64_t d = 2; d < logits.dim(); ++d) g.hw *= logits.size(d);
    return g;
}

void throw_bad_label(const char* op, const Tensor& labels, int64_t idx, int64_t c, int64_t ignore_index) {
    const Tensor l = labels.contiguous().cpu();
    const int64_t v = int64_t(l.get_double(idx));
    std::ostringstream pos;
    int64_t rest = idx;
    std::vector<int64_t> coords(size_t(l.dim()));
    for (int64_t d = l.dim() - 1; d >= 0; --d) {
        coords[size_t(d)] = rest % l.size(d);
        rest /= l.size(d);
    }
    for (size_t d = 0; d < coords.size(); ++d) pos << (d ? ", " : "") << coords[d];
    SEGCORE_THROW(op, ": label ", v, " at (", pos.str(), ") is outside [0, ", c, ") and is not the ignore_index ",
                  ignore_index);
}

}  // namespace segcore::ops::region
