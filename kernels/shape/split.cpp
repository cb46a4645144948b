// ops::split / ops::chunk (kernels/shape/split.h): views only.
#include "kernels/shape/split.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"

namespace segcore::ops {

namespace {

int64_t split_dim(const Tensor& x, int64_t dim, const char* op) {
    SEGCORE_CHECK(x.defined(), op, ": the input tensor is undefined");
    SEGCORE_CHECK(x.dim() > 0, op, ": a zero-dimensional tensor cannot be split");
    return wrap_dim(dim, x.dim(), op);
}

std::string sizes_str(const std::vector<int64_t>& v) {
    std::ostringstream os;
    os << '[';
    for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
    os << ']';
    return os.str();
}

}  // namespace

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
    const int64_t d = split_dim(x, dim, "split");
    const int64_t n = x.size(d);
    SEGCORE_CHECK(split_size > 0, "split: expected a positive split_size, got ", split_size);
    if (n == 0) return {x};
    std::vector<Tensor> out;
    out.reserve(size_t((n + split_size - 1) / split_size));
    for (int64_t start = 0; start < n; start += split_size) out.push_back(x.narrow(d, start, std::min(split_size, n - start)));
    return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
    const int64_t d = split_dim(x, dim, "split");
    int64_t total = 0;
    for (const int64_t s : sizes) {
        SEGCORE_CHECK(s >= 0, "split: sizes must be non-negative, got ", sizes_str(sizes));
        total += s;
    }
    SEGCORE_CHECK(total == x.size(d), "split: sizes ", sizes_str(sizes), " sum to ", total, " but dim ", d,
                  " of shape ", shape_str(x.shape()), " has size ", x.size(d));
    std::vector<Tensor> out;
    out.reserve(sizes.size());
    int64_t start = 0;
    for (const int64_t s : sizes) {
        out.push_back(x.narrow(d, start, s));
        start += s;
    }
    return out;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
    const int64_t d = split_dim(x, dim, "chunk");
    SEGCORE_CHECK(chunks > 0, "chunk: expected a positive number of chunks, got ", chunks);
    const int64_t n = x.size(d);
    // PyTorch: an empty dim gives `chunks` empty pieces (split would give one).
    if (n == 0) return std::vector<Tensor>(size_t(chunks), x);
    return split(x, (n + chunks - 1) / chunks, d);
}

}  // namespace segcore::ops
