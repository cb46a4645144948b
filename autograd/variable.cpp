#include "autograd/variable.h"

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/error.h"
#include "kernels/elementwise/binary.h"

namespace segcore::autograd {

namespace {
const Tensor kUndefined;
const std::string kEmpty;
const std::shared_ptr<Node> kNoNode;
}  // namespace

Variable::Variable(Tensor data, bool requires_grad) : impl_(std::make_shared<VariableImpl>()) {
    impl_->data = std::move(data);
    impl_->is_inference = inference_mode();
    if (requires_grad) set_requires_grad(true);
}

Variable::Variable(Tensor data, std::shared_ptr<Node> grad_fn, uint32_t output_nr)
    : impl_(std::make_shared<VariableImpl>()) {
    impl_->data = std::move(data);
    impl_->grad_fn = std::move(grad_fn);
    impl_->output_nr = output_nr;
    impl_->requires_grad = impl_->grad_fn != nullptr;
}

const Tensor& Variable::data() const {
    SEGCORE_CHECK(impl_, "Variable::data(): the variable is undefined");
    return impl_->data;
}

void Variable::set_data(Tensor t) {
    SEGCORE_CHECK(impl_, "Variable::set_data(): the variable is undefined");
    if (impl_->grad.defined() &&
        (impl_->grad.shape() != t.shape() || impl_->grad.device() != t.device() || impl_->grad.dtype() != t.dtype()))
        impl_->grad = Tensor();
    impl_->data = std::move(t);
}

bool Variable::requires_grad() const { return impl_ && impl_->requires_grad; }

Variable& Variable::set_requires_grad(bool r) {
    SEGCORE_CHECK(impl_, "set_requires_grad: the variable is undefined");
    SEGCORE_CHECK(is_leaf(), "set_requires_grad: only leaves can change requires_grad (", name().empty() ? "this variable" : name(),
                  " was produced by ", impl_->grad_fn->name(), "); use detach() to make a new leaf");
    if (r) {
        const DType t = impl_->data.dtype();
        SEGCORE_CHECK(t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16,
                      "set_requires_grad: only floating tensors can require gradients, got ", dtype_name(t));
        SEGCORE_CHECK(!impl_->is_inference,
                      "set_requires_grad: this value was created under InferenceModeGuard and cannot require "
                      "gradients; clone it outside inference mode first");
    }
    impl_->requires_grad = r;
    return *this;
}

bool Variable::is_leaf() const { return !impl_ || impl_->grad_fn == nullptr; }
const std::shared_ptr<Node>& Variable::grad_fn() const { return impl_ ? impl_->grad_fn : kNoNode; }
uint32_t Variable::output_nr() const { return impl_ ? impl_->output_nr : 0; }
const Tensor& Variable::grad() const { return impl_ ? impl_->grad : kUndefined; }

void Variable::set_grad(Tensor g) {
    SEGCORE_CHECK(impl_, "set_grad: the variable is undefined");
    if (g.defined())
        SEGCORE_CHECK(g.shape() == impl_->data.shape() && g.dtype() == impl_->data.dtype() &&
                          g.device() == impl_->data.device(),
                      "set_grad: the gradient ", g.meta_str(), " must match the value ", impl_->data.meta_str());
    impl_->grad = std::move(g);
}

void Variable::zero_grad(bool set_to_none) {
    if (!impl_ || !impl_->grad.defined()) return;
    if (set_to_none)
        impl_->grad = Tensor();
    else
        impl_->grad.zero_();
}

void Variable::retain_grad() {
    SEGCORE_CHECK(impl_ && impl_->requires_grad, "retain_grad: the variable does not require grad");
    if (is_leaf() || impl_->retains_grad) return;
    impl_->retains_grad = true;
    // A pre-hook of the producing node stores the incoming gradient (accumulating over uses,
    // which the engine has already summed by the time the node runs).
    std::weak_ptr<VariableImpl> weak = impl_;
    impl_->grad_fn->pre_hooks.emplace_back(impl_->output_nr, [weak](const Tensor& g) {
        if (auto impl = weak.lock()) {
            impl->grad = impl->grad.defined() ? ops::add(impl->grad, g) : g.clone();
        }
        return Tensor();
    });
}

void Variable::backward(const Tensor& grad, bool retain_graph) const {
    SEGCORE_CHECK(impl_, "backward: the variable is undefined");
    run_backward({*this}, {grad}, retain_graph);
}

Variable Variable::detach() const {
    SEGCORE_CHECK(impl_, "detach: the variable is undefined");
    return Variable(impl_->data, false);
}

void Variable::register_hook(GradHook hook) {
    SEGCORE_CHECK(impl_ && impl_->requires_grad, "register_hook: the variable does not require grad");
    if (is_leaf())
        impl_->hooks.push_back(std::move(hook));
    else
        impl_->grad_fn->pre_hooks.emplace_back(impl_->output_nr, std::move(hook));
}

void Variable::register_post_accumulate_grad_hook(PostAccumulateHook hook) {
    SEGCORE_CHECK(impl_ && impl_->requires_grad && is_leaf(),
                  "register_post_accumulate_grad_hook: only leaves that require grad accumulate gradients");
    impl_->post_accumulate_hooks.push_back(std::move(hook));
}

const std::string& Variable::name() const { return impl_ ? impl_->name : kEmpty; }
Variable& Variable::set_name(std::string name) {
    SEGCORE_CHECK(impl_, "set_name: the variable is undefined");
    impl_->name = std::move(name);
    return *this;
}

}  // namespace segcore::autograd
