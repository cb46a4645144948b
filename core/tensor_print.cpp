// Printing, PyTorch-like: nested brackets, summarised with "..." beyond 1000 elements.
#include <cstdio>
#include <ostream>
#include <sstream>

#include "core/tensor.h"

namespace segcore {

namespace {
constexpr int64_t kSummariseAbove = 1000;
constexpr int64_t kEdgeItems = 3;

std::string format_value(double v, DType t) {
    char buf[48];
    if (t == DType::Bool) return v != 0 ? "True" : "False";
    if (!is_floating(t)) std::snprintf(buf, sizeof buf, "%lld", (long long)v);
    else std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

void print_rec(std::ostringstream& os, const Tensor& t, int64_t d, int64_t base, const Strides& logical, bool summarise,
               int indent) {
    const int64_t n = t.size(d);
    os << "[";
    for (int64_t i = 0; i < n; ++i) {
        if (summarise && n > 2 * kEdgeItems && i == kEdgeItems) {
            os << (d + 1 == t.dim() ? "..., " : "...,\n" + std::string(size_t(indent + 1), ' '));
            i = n - kEdgeItems;
        }
        const int64_t idx = base + i * logical[size_t(d)];
        if (d + 1 == t.dim()) os << format_value(t.get_double(idx), t.dtype());
        else print_rec(os, t, d + 1, idx, logical, summarise, indent + 1);
        if (i + 1 < n) os << (d + 1 == t.dim() ? ", " : ",\n" + std::string(size_t(indent + 1), ' '));
    }
    os << "]";
}
}  // namespace

std::string Tensor::meta_str() const {
    if (!defined()) return "undefined";
    return std::string(dtype_name(dtype_)) + " " + shape_str(shape_) + " " + device().str();
}

std::string Tensor::str() const {
    if (!defined()) return "tensor(undefined)";
    const Tensor host = cpu();
    std::ostringstream os;
    os << "tensor(";
    if (dim() == 0) os << format_value(host.get_double(0), dtype_);
    else print_rec(os, host, 0, 0, contiguous_strides(shape_), numel() > kSummariseAbove, 7);
    os << ", " << meta_str() << ")";
    return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace segcore
