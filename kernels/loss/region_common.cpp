// Checks shared by the region losses (kernels/loss/region_common.h).
#include "kernels/loss/region_common.h"

#include <sstream>

#include "kernels/common/dispatch.h"

namespace segcore::ops::region {

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
