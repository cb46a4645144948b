// ops::flip (kernels/shape/flip.h): validation, allocation and the one device switch.
#include "kernels/shape/flip.h"

#include "kernels/common/dispatch.h"

namespace segcore::ops {

namespace {

// Calls f with the unsigned integer type as wide as one element.
template <typename F>
void visit_word(size_t element_size, F&& f) {
    switch (element_size) {
        case 1:
            f(TypeTag<uint8_t>{});
            return;
        case 2:
            f(TypeTag<uint16_t>{});
            return;
        case 4:
            f(TypeTag<uint32_t>{});
            return;
        case 8:
            f(TypeTag<uint64_t>{});
            return;
        default:
            break;
    }
    SEGCORE_THROW("flip: unsupported element size ", element_size, " bytes");
}

}  // namespace

Tensor flip(const Tensor& x, int64_t dim) {
    check_defined("flip", {&x});
    if (x.dim() == 0) return x.clone();
    const int64_t nd = x.dim();
    SEGCORE_CHECK(dim >= -nd && dim < nd, "flip: dim ", dim, " is out of range for a tensor of ", nd, " dims (",
                  x.meta_str(), ")");
    if (dim < 0) dim += nd;
    kernels::FlipParams p;
    p.len = x.size(dim);
    for (int64_t d = 0; d < dim; ++d) p.outer *= x.size(d);
    for (int64_t d = dim + 1; d < nd; ++d) p.inner *= x.size(d);
    const Tensor xc = x.contiguous();
    Tensor y = empty(x.shape(), {x.dtype(), x.device()});
    if (y.numel() == 0) return y;
    visit_word(x.element_size(), [&](auto tag) {
        using Word = typename decltype(tag)::type;
        const Word* src = static_cast<const Word*>(xc.data_ptr());
        Word* dst = static_cast<Word*>(y.data_ptr());
        if (x.is_cuda()) {
            SEGCORE_CUDA_CALL(kernels::flip_cuda<Word>(p, src, dst, current_stream()));
        } else {
            kernels::flip_cpu<Word>(p, src, dst);
        }
    });
    return y;
}

}  // namespace segcore::ops
