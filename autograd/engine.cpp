#include "autograd/engine.h"

#include <queue>
#include <unordered_map>
#include <utility>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/error.h"
#include "kernels/elementwise/binary.h"

namespace segcore::autograd {

namespace {

// Whether t is the only view of a dense storage (so adding into it in place is invisible to others).
bool owns(const Tensor& t) {
    return t.storage().use_count() == 1 && t.is_contiguous() && t.offset() == 0 &&
           size_t(t.nbytes()) == t.storage()->nbytes();
}

struct NewestFirst {
    bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

// Where a captured gradient is read from: slot `nr` of node's input buffer.
struct Capture {
    Node* node;
    uint32_t nr;
};

class GraphTask {
public:
    GraphTask(bool retain_graph, bool accumulate) : retain_graph_(retain_graph), accumulate_(accumulate) {}

    void add_root(const Edge& e, Tensor g) {
        roots_.push_back(e.node.get());
        add_grad(e.node.get(), e.input_nr, std::move(g));
    }
    void capture(const Edge& e) { captures_.push_back({e.node.get(), e.input_nr}); }

    std::vector<Tensor> run() {
        count_dependencies();
        std::priority_queue<Node*, std::vector<Node*>, NewestFirst> ready;
        for (Node* r : roots_)
            if (deps_[r] == 0 && !queued_[r]) {
                queued_[r] = true;
                ready.push(r);
            }
        std::vector<Tensor> captured(captures_.size());
        while (!ready.empty()) {
            Node* node = ready.top();
            ready.pop();
            tensor_list grads = take_buffer(node);
            for (auto& [nr, hook] : node->pre_hooks) {
                if (nr >= grads.size() || !grads[nr].defined()) continue;
                Tensor r = hook(grads[nr]);
                if (r.defined()) grads[nr] = std::move(r);
            }
            for (size_t i = 0; i < captures_.size(); ++i)
                if (captures_[i].node == node) captured[i] = grads[captures_[i].nr];
            const bool is_leaf_sink = dynamic_cast<AccumulateGrad*>(node) != nullptr;
            if (is_leaf_sink && !accumulate_) continue;
            tensor_list out = execute(node, std::move(grads));
            for (size_t i = 0; i < node->next_edges.size(); ++i) {
                const Edge& e = node->next_edges[i];
                if (!e.valid()) continue;
                if (i < out.size() && out[i].defined()) {
                    check_grad(node, i, e, out[i]);
                    add_grad(e.node.get(), e.input_nr, std::move(out[i]));
                }
                if (--deps_[e.node.get()] == 0 && !queued_[e.node.get()]) {
                    queued_[e.node.get()] = true;
                    ready.push(e.node.get());
                }
            }
        }
        return captured;
    }

private:
    // Iterative DFS: how many edges point at each reachable node.
    void count_dependencies() {
        std::vector<Node*> stack(roots_.begin(), roots_.end());
        std::unordered_map<Node*, bool> seen;
        for (Node* r : roots_) seen[r] = true;
        while (!stack.empty()) {
            Node* n = stack.back();
            stack.pop_back();
            if (n->released())
                SEGCORE_THROW("backward: ", n->name(),
                              " has already been used by a backward pass and its saved tensors were freed; "
                              "pass retain_graph=true to the first backward() to run backward through the "
                              "graph again");
            for (const Edge& e : n->next_edges) {
                if (!e.valid()) continue;
                ++deps_[e.node.get()];
                if (!seen[e.node.get()]) {
                    seen[e.node.get()] = true;
                    stack.push_back(e.node.get());
                }
            }
        }
    }

    void add_grad(Node* node, uint32_t nr, Tensor g) {
        tensor_list& buf = buffers_[node];
        if (buf.empty()) buf.resize(node->outputs.size());
        SEGCORE_ASSERT(nr < buf.size());
        if (!buf[nr].defined()) {
            buf[nr] = std::move(g);
        } else if (owns(buf[nr]) && buf[nr].shape() == g.shape() && buf[nr].dtype() == g.dtype()) {
            ops::add_(buf[nr], g);  // nobody else sees this tensor: sum in place, no allocation
        } else {
            buf[nr] = ops::add(buf[nr], g);
        }
    }

    tensor_list take_buffer(Node* node) {
        auto it = buffers_.find(node);
        if (it == buffers_.end()) return tensor_list(node->outputs.size());
        tensor_list grads = std::move(it->second);
        buffers_.erase(it);
        return grads;
    }

    tensor_list execute(Node* node, tensor_list&& grads) {
        bool any = false;
        for (const Tensor& g : grads) any = any || g.defined();
        tensor_list out;
        if (any) out = node->apply(std::move(grads));
        // AccumulateGrad nodes belong to their leaves and outlive this graph.
        if (!retain_graph_ && dynamic_cast<AccumulateGrad*>(node) == nullptr) {
            node->release_saved();
            node->mark_released();
        }
        return out;
    }

    static void check_grad(const Node* node, size_t i, const Edge& e, const Tensor& g) {
        const OutputMeta& m = e.node->outputs[e.input_nr];
        SEGCORE_CHECK(g.shape() == m.shape && g.dtype() == m.dtype && g.device() == m.device, "backward: ",
                      node->name(), " produced a gradient ", g.meta_str(), " for its input ", i, ", but ",
                      e.node->name(), " expects ", dtype_name(m.dtype), " ", shape_str(m.shape), " ",
                      m.device.str(), " (a bug in ", node->name(), ")");
    }

    bool retain_graph_, accumulate_;
    std::vector<Node*> roots_;
    std::vector<Capture> captures_;
    std::unordered_map<Node*, int64_t> deps_;
    std::unordered_map<Node*, bool> queued_;
    std::unordered_map<Node*, tensor_list> buffers_;
};

Tensor seed_grad(const Variable& root, const Tensor& grad, size_t i) {
    SEGCORE_CHECK(root.defined(), "backward: output ", i, " is undefined");
    SEGCORE_CHECK(root.requires_grad(), "backward: output ", i,
                  " does not require grad and has no grad_fn (was it computed under NoGradGuard, or from "
                  "inputs that do not require grad?)");
    if (!grad.defined()) {
        SEGCORE_CHECK(root.numel() == 1, "backward: a gradient can be created implicitly only for a scalar output; "
                                         "output ", i, " has shape ", shape_str(root.shape()),
                      " (pass a gradient of that shape)");
        return ones(root.shape(), {root.dtype(), root.device()});
    }
    SEGCORE_CHECK(grad.shape() == root.shape() && grad.dtype() == root.dtype() && grad.device() == root.device(),
                  "backward: the gradient for output ", i, " is ", grad.meta_str(), " but the output is ",
                  root.data().meta_str());
    return grad;
}

}  // namespace

void run_backward(const std::vector<Variable>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
    SEGCORE_CHECK(grads.empty() || grads.size() == roots.size(), "backward: ", roots.size(), " outputs but ",
                  grads.size(), " gradients");
    // Backward itself is not recorded (no double backward).
    NoGradGuard no_grad;
    GraphTask task(retain_graph, /*accumulate=*/true);
    for (size_t i = 0; i < roots.size(); ++i)
        task.add_root(gradient_edge(roots[i]), seed_grad(roots[i], grads.empty() ? Tensor() : grads[i], i));
    task.run();
}

std::vector<Tensor> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph) {
    SEGCORE_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "grad: ", outputs.size(),
                  " outputs but ", grad_outputs.size(), " gradients");
    NoGradGuard no_grad;
    GraphTask task(retain_graph, /*accumulate=*/false);
    for (size_t i = 0; i < outputs.size(); ++i)
        task.add_root(gradient_edge(outputs[i]),
                      seed_grad(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], i));
    for (const Variable& in : inputs) {
        SEGCORE_CHECK(in.requires_grad(), "grad: an input does not require grad");
        task.capture(gradient_edge(in));
    }
    return task.run();
}

}  // namespace segcore::autograd
