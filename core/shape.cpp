#include "core/shape.h"

#include "core/error.h"

namespace segcore {

int64_t shape_numel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

Strides contiguous_strides(const Shape& s) {
    Strides st(s.size());
    int64_t acc = 1;
    for (size_t i = s.size(); i-- > 0;) {
        st[i] = acc;
        acc *= s[i] > 1 ? s[i] : 1;
    }
    return st;
}

std::string shape_str(const Shape& s) {
    std::string out = "(";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    if (s.size() == 1) out += ",";
    return out + ")";
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
    const int64_t lo = ndim > 0 ? -ndim : -1, hi = ndim > 0 ? ndim - 1 : 0;
    SEGCORE_CHECK(dim >= lo && dim <= hi, op, ": dimension ", dim, " is out of range for a tensor with ", ndim,
                  " dimensions (expected ", lo, "..", hi, ")");
    return dim < 0 ? dim + (ndim > 0 ? ndim : 1) : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
    const size_t n = std::max(a.size(), b.size());
    Shape out(n);
    for (size_t i = 0; i < n; ++i) {
        const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        SEGCORE_CHECK(da == db || da == 1 || db == 1, "shapes ", shape_str(a), " and ", shape_str(b),
                      " cannot be broadcast: dimension ", i, " is ", da, " vs ", db);
        out[i] = da == 1 ? db : da;
    }
    return out;
}

}  // namespace segcore
