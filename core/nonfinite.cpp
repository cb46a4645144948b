#include "core/nonfinite.h"

#include <cmath>
#include <sstream>

namespace segcore {

int64_t first_nonfinite(const Tensor& t) {
    if (!t.defined() || t.numel() == 0 || !is_floating(t.dtype())) return -1;
    const Tensor h = t.contiguous().cpu().to(DType::F64);
    const double* p = h.data<double>();
    for (int64_t i = 0; i < h.numel(); ++i)
        if (!std::isfinite(p[i])) return i;
    return -1;
}

std::string describe_element(const Tensor& t, int64_t i) {
    std::ostringstream s;
    s << "element " << i << " of " << t.numel() << " = " << t.contiguous().cpu().to(DType::F64).get_double(i);
    return s.str();
}

}  // namespace segcore
