#pragma once
// Variable: a tensor that autograd can differentiate through.
//
// A Variable is a handle: copies share one VariableImpl (value, grad, grad_fn, hooks), like a
// Python reference to a torch.Tensor. So a parameter held by a Module, by an optimiser and by a
// data-parallel wrapper is one object; an optimiser updating `p.data()` in place is seen by all.
//
//   leaf        requires_grad set by the user (parameters, inputs); grad_fn == nullptr;
//               backward() accumulates into grad().
//   non-leaf    the output of a differentiable function while grad mode is on and some input
//               requires grad; grad_fn is the Node that computes the inputs' gradients, and
//               output_nr says which of that node's outputs this is.
//   constant    requires_grad == false and no grad_fn: gradients stop here.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace segcore::autograd {

class Node;
class Variable;

// Runs on the gradient flowing into a variable before it is used (any variable); returns the
// gradient to use instead, or an undefined Tensor to keep it unchanged.
using GradHook = std::function<Tensor(const Tensor& grad)>;
// Runs on a leaf after its grad() has been accumulated for this backward pass. Data-parallel
// training hangs its bucketed all-reduce on these.
using PostAccumulateHook = std::function<void(Variable& leaf)>;

struct VariableImpl {
    Tensor data;
    Tensor grad;
    std::shared_ptr<Node> grad_fn;
    uint32_t output_nr = 0;
    bool requires_grad = false;
    bool retains_grad = false;  // a non-leaf asked to keep its grad (retain_grad())
    std::vector<GradHook> hooks;
    std::vector<PostAccumulateHook> post_accumulate_hooks;
    std::string name;  // optional, shown in graph dumps and error messages
    bool is_inference = false;               // created under InferenceModeGuard (grad_mode.h)
    std::weak_ptr<Node> grad_accumulator;    // a leaf's AccumulateGrad, shared by all its uses
};

class Variable {
public:
    Variable() = default;  // undefined
    // A leaf (or a constant when requires_grad is false). Gradients of a leaf need a floating dtype.
    explicit Variable(Tensor data, bool requires_grad = false);
    // A non-leaf produced by `grad_fn`'s output number `output_nr` (used by autograd functions).
    Variable(Tensor data, std::shared_ptr<Node> grad_fn, uint32_t output_nr);

    bool defined() const { return impl_ != nullptr; }
    // The value. Views and in-place ops on it are not recorded: optimisers and initialisers
    // update parameters through it.
    const Tensor& data() const;
    // Replaces the value (Module::to moves parameters this way); shape may change, grad is kept
    // only if it still matches.
    void set_data(Tensor t);

    bool requires_grad() const;
    Variable& set_requires_grad(bool r);  // leaves only
    bool is_leaf() const;
    const std::shared_ptr<Node>& grad_fn() const;
    uint32_t output_nr() const;

    const Tensor& grad() const;  // undefined until a backward pass reaches this leaf
    void set_grad(Tensor g);
    // set_to_none (the default, like PyTorch 2) drops the tensor; otherwise it is zero-filled.
    void zero_grad(bool set_to_none = true);
    void retain_grad();  // keep grad() on a non-leaf too

    // Backpropagates from this variable. A scalar may omit `grad` (it is 1); otherwise `grad`
    // has this variable's shape. The graph is freed unless retain_graph is true.
    void backward(const Tensor& grad = {}, bool retain_graph = false) const;

    // A new constant Variable sharing this one's value (no grad_fn, requires_grad false).
    Variable detach() const;

    void register_hook(GradHook hook);
    void register_post_accumulate_grad_hook(PostAccumulateHook hook);  // leaves only

    const std::string& name() const;
    Variable& set_name(std::string name);

    // Shortcuts to the value.
    const Shape& shape() const { return data().shape(); }
    int64_t dim() const { return data().dim(); }
    int64_t size(int64_t d) const { return data().size(d); }
    int64_t numel() const { return data().numel(); }
    DType dtype() const { return data().dtype(); }
    Device device() const { return data().device(); }
    double item() const { return data().item_double(); }

    // The handle of an existing variable (engine and hooks use this).
    static Variable from_impl(std::shared_ptr<VariableImpl> impl) {
        Variable v;
        v.impl_ = std::move(impl);
        return v;
    }

    // Identity (two handles to one variable), for containers keyed by parameter.
    bool is_same(const Variable& o) const { return impl_ == o.impl_; }
    const std::shared_ptr<VariableImpl>& shared_impl() const { return impl_; }
    const VariableImpl* unsafe_impl() const { return impl_.get(); }  // identity key for maps

private:
    std::shared_ptr<VariableImpl> impl_;
};

}  // namespace segcore::autograd
