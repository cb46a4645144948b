// ops::int_add_ (kernels/elementwise/int_add.h).
#include "kernels/elementwise/int_add.h"

#include "kernels/common/dispatch.h"

namespace segcore::ops {

Tensor& int_add_(Tensor& t, int64_t v) {
    check_defined("int_add_", {&t});
    SEGCORE_CHECK(t.dtype() == DType::I64 || t.dtype() == DType::I32, "int_add_: expected an i32 or i64 tensor, got ",
                  t.meta_str());
    SEGCORE_CHECK(t.is_contiguous(), "int_add_: the tensor must be contiguous");
    const auto run = [&](auto* p) {
        using I = std::remove_pointer_t<decltype(p)>;
        if (t.is_cuda()) {
            SEGCORE_CUDA_CALL(kernels::int_add_cuda<I>(p, t.numel(), v, current_stream()));
        } else {
            for (int64_t i = 0; i < t.numel(); ++i) p[i] = I(p[i] + v);
        }
    };
    if (t.dtype() == DType::I64) run(t.data<int64_t>());
    else run(t.data<int32_t>());
    return t;
}

}  // namespace segcore::ops
