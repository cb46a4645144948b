#include "kernels/common/dispatch.h"

namespace segcore {

void check_defined(const char* op, std::initializer_list<const Tensor*> ts) {
    int i = 0;
    for (const Tensor* t : ts) {
        SEGCORE_CHECK(t->defined(), op, ": argument ", i, " is an undefined tensor");
        ++i;
    }
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
    const Tensor* first = *ts.begin();
    for (const Tensor* t : ts)
        SEGCORE_CHECK(t->device() == first->device(), op, ": expected all tensors on one device, found ",
                      first->device().str(), " and ", t->device().str());
}

void check_same_dtype(const char* op, std::initializer_list<const Tensor*> ts) {
    const Tensor* first = *ts.begin();
    for (const Tensor* t : ts)
        SEGCORE_CHECK(t->dtype() == first->dtype(), op, ": expected all tensors of one dtype, found ",
                      dtype_name(first->dtype()), " and ", dtype_name(t->dtype()));
}

void check_dim(const char* op, const Tensor& t, int64_t ndim, const char* name) {
    SEGCORE_CHECK(t.dim() == ndim, op, ": expected ", name, " to have ", ndim, " dimensions, got shape ",
                  shape_str(t.shape()));
}

void check_floating(const char* op, const Tensor& t, const char* name) {
    SEGCORE_CHECK(is_floating(t.dtype()), op, ": expected ", name, " to be floating point, got ", dtype_name(t.dtype()));
}

}  // namespace segcore
