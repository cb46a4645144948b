#include "autograd/node.h"

#include <atomic>

#include "core/error.h"
#include "kernels/elementwise/binary.h"

namespace segcore::autograd {

namespace {
std::atomic<uint64_t> g_next_sequence_nr{0};
}  // namespace

Node::Node() : sequence_nr_(g_next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

Node::~Node() {
    // Nodes this one holds the last reference to are moved to a thread-local list and freed by
    // the outermost destructor in a loop, instead of recursively (which overflows the stack on
    // deep graphs such as a long RNN-like chain).
    thread_local std::vector<std::shared_ptr<Node>> pending;
    thread_local bool draining = false;
    for (Edge& e : next_edges)
        if (e.node && e.node.use_count() == 1) pending.push_back(std::move(e.node));
    if (draining) return;
    draining = true;
    while (!pending.empty()) {
        std::shared_ptr<Node> n = std::move(pending.back());
        pending.pop_back();
        n.reset();  // may push its own children onto `pending`
    }
    draining = false;
}

AccumulateGrad::AccumulateGrad(std::shared_ptr<VariableImpl> leaf) : leaf_(std::move(leaf)) {
    outputs.push_back({leaf_->data.shape(), leaf_->data.dtype(), leaf_->data.device()});
}

namespace {
// A gradient the leaf may keep as its own: not a view of something else and not shared, so later
// in-place accumulation cannot corrupt another tensor (an expanded sum() gradient is a stride-0
// view, for example).
bool can_steal(const Tensor& g) {
    return g.storage().use_count() == 1 && g.is_contiguous() && g.offset() == 0 &&
           size_t(g.nbytes()) == g.storage()->nbytes();
}
}  // namespace

tensor_list AccumulateGrad::apply(tensor_list&& grads) {
    Tensor g = std::move(grads[0]);
    if (!g.defined()) return {};
    for (auto& hook : leaf_->hooks) {
        Tensor r = hook(g);
        if (r.defined()) g = std::move(r);
    }
    if (!leaf_->grad.defined()) {
        leaf_->grad = can_steal(g) ? std::move(g) : g.clone();
    } else {
        // In place, so references to the grad (optimiser state, all-reduce buckets) stay valid.
        ops::add_(leaf_->grad, g);
    }
    if (!leaf_->post_accumulate_hooks.empty()) {
        Variable v = Variable::from_impl(leaf_);
        for (auto& hook : leaf_->post_accumulate_hooks) hook(v);
    }
    return {};
}

Edge gradient_edge(const Variable& v) {
    if (!v.defined() || !v.requires_grad()) return {};
    if (v.grad_fn()) return {v.grad_fn(), v.output_nr()};
    // A leaf: reuse its accumulator so several uses of one leaf sum into one grad.
    const std::shared_ptr<VariableImpl>& impl = v.shared_impl();
    std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
    if (!acc) {
        acc = std::make_shared<AccumulateGrad>(impl);
        impl->grad_accumulator = acc;
    } else {
        // The leaf's value may have been replaced (Module::to) since the accumulator was made.
        acc->outputs[0] = {impl->data.shape(), impl->data.dtype(), impl->data.device()};
    }
    return {acc, 0};
}

}  // namespace segcore::autograd
