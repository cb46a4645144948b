#pragma once
// Host-side checks and pointer gathering shared by the ops:: functions of kernels/optim/ (not a
// public API). Every message names the op, the list and the index, and says expected vs found.
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "kernels/optim/multi_tensor.h"

namespace segcore::ops::detail_mt {

// `list` must have one tensor per tensor of `ref`, each defined, contiguous, on ref[0]'s device
// and dtype, with ref[i]'s number of elements (shapes may differ: grads of a view, flat state).
inline void check_list(const char* op, const std::vector<Tensor>& ref, const std::vector<Tensor>& list,
                       const char* name) {
    SEGCORE_CHECK(list.size() == ref.size(), op, ": expected ", ref.size(), " ", name, " (one per tensor), got ",
                  list.size());
    for (size_t i = 0; i < list.size(); ++i) {
        const Tensor& t = list[i];
        SEGCORE_CHECK(t.defined(), op, ": ", name, "[", i, "] is undefined");
        SEGCORE_CHECK(t.device() == ref[0].device(), op, ": ", name, "[", i, "] is on ", t.device().str(),
                      ", expected ", ref[0].device().str(), " (all tensors of one call on one device)");
        SEGCORE_CHECK(t.dtype() == ref[0].dtype(), op, ": ", name, "[", i, "] is ", dtype_name(t.dtype()),
                      ", expected ", dtype_name(ref[0].dtype()), " (all tensors of one call share a dtype)");
        SEGCORE_CHECK(t.is_contiguous(), op, ": ", name, "[", i, "] (", t.meta_str(),
                      ") must be contiguous (the multi-tensor kernels walk flat memory)");
        SEGCORE_CHECK(t.numel() == ref[i].numel(), op, ": ", name, "[", i, "] has ", t.numel(), " elements, expected ",
                      ref[i].numel(), " (as tensor ", i, " of the first list)");
    }
}

// A one-element tensor of the given dtype on the given device.
inline void check_scalar(const char* op, const Tensor& t, DType dtype, Device dev, const char* name) {
    SEGCORE_CHECK(t.defined(), op, ": ", name, " is undefined");
    SEGCORE_CHECK(t.numel() == 1, op, ": ", name, " must have one element, got shape ", shape_str(t.shape()));
    SEGCORE_CHECK(t.dtype() == dtype, op, ": ", name, " must be ", dtype_name(dtype), ", got ", dtype_name(t.dtype()));
    SEGCORE_CHECK(t.device() == dev, op, ": ", name, " is on ", t.device().str(), ", expected ", dev.str(),
                  " (the tensors' device: no host sync)");
}

// Raw pointers of checked lists; numel from the first list. Empty lists stay empty.
template <typename T>
kernels::TensorLists<T> gather(const std::vector<const std::vector<Tensor>*>& lists) {
    kernels::TensorLists<T> out;
    for (const Tensor& t : *lists[0]) out.numel.push_back(t.numel());
    for (const std::vector<Tensor>* l : lists) {
        std::vector<T*> ptrs;
        for (const Tensor& t : *l) ptrs.push_back(t.data<T>());
        out.lists.push_back(std::move(ptrs));
    }
    return out;
}

}  // namespace segcore::ops::detail_mt
