// ops::concat / ops::stack (kernels/shape/concat.h). No kernel of their own: each input is one
// Tensor::copy_ into a narrow() of the output, which already handles layouts, dtypes and devices.
#include "kernels/shape/concat.h"

#include "core/error.h"

namespace segcore::ops {

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
    SEGCORE_CHECK(!tensors.empty(), "concat: expected at least one tensor, got an empty list");
    for (size_t i = 0; i < tensors.size(); ++i)
        SEGCORE_CHECK(tensors[i].defined(), "concat: tensor ", i, " is undefined");
    const Tensor& first = tensors[0];
    SEGCORE_CHECK(first.dim() > 0, "concat: zero-dimensional tensors cannot be concatenated (use stack)");
    const int64_t d = wrap_dim(dim, first.dim(), "concat");

    Shape shape = first.shape();
    shape[size_t(d)] = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const Tensor& t = tensors[i];
        SEGCORE_CHECK(t.dtype() == first.dtype(), "concat: expected all tensors of dtype ", dtype_name(first.dtype()),
                      ", tensor ", i, " is ", dtype_name(t.dtype()));
        SEGCORE_CHECK(t.device() == first.device(), "concat: expected all tensors on ", first.device().str(), ", tensor ",
                      i, " is on ", t.device().str());
        bool match = t.dim() == first.dim();
        for (int64_t k = 0; match && k < t.dim(); ++k) match = k == d || t.size(k) == first.size(k);
        SEGCORE_CHECK(match, "concat: along dim ", d, " every size but dim ", d, " must match: tensor 0 has shape ",
                      shape_str(first.shape()), ", tensor ", i, " has shape ", shape_str(t.shape()));
        shape[size_t(d)] += t.size(d);
    }

    Tensor out = empty(shape, TensorOptions(first.dtype(), first.device()));
    int64_t offset = 0;
    for (const Tensor& t : tensors) {
        const int64_t n = t.size(d);
        if (n > 0 && t.numel() > 0) out.narrow(d, offset, n).copy_(t);
        offset += n;
    }
    return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
    SEGCORE_CHECK(!tensors.empty(), "stack: expected at least one tensor, got an empty list");
    for (size_t i = 0; i < tensors.size(); ++i)
        SEGCORE_CHECK(tensors[i].defined(), "stack: tensor ", i, " is undefined");
    const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
    std::vector<Tensor> expanded;
    expanded.reserve(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        SEGCORE_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: expected tensors of one shape: tensor 0 has shape ",
                      shape_str(tensors[0].shape()), ", tensor ", i, " has shape ", shape_str(tensors[i].shape()));
        expanded.push_back(tensors[i].unsqueeze(d));
    }
    return concat(expanded, d);
}

}  // namespace segcore::ops
