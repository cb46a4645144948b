#pragma once
// Node: one recorded operation of the backward graph.
//
// A differentiable function that ran with grad mode on creates one Node per call (a named
// `XxxBackward` struct, autograd/functions/*.cpp). The node holds
//   - next_edges: one per differentiable input, pointing at the node that produced it (or at the
//     leaf's AccumulateGrad; an empty edge when that input needs no gradient), and
//   - the tensors the derivative formula needs, saved explicitly as members.
// apply() maps the gradients of the node's outputs to the gradients of its inputs. The engine
// calls release_saved() right after apply() unless retain_graph is set, so activations are freed
// as soon as backward has used them.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/variable.h"
#include "core/tensor.h"

namespace segcore::autograd {

class Node;

struct Edge {
    std::shared_ptr<Node> node;  // nullptr: the input needs no gradient
    uint32_t input_nr = 0;       // which of node's outputs (= which grad slot of node) this feeds
    bool valid() const { return node != nullptr; }
};

// What an output looked like, so a missing gradient can be materialised as zeros.
struct OutputMeta {
    Shape shape;
    DType dtype = DType::F32;
    Device device;
};

using tensor_list = std::vector<Tensor>;

class Node : public std::enable_shared_from_this<Node> {
public:
    Node();
    // Iterative: a 100 000-node chain is freed without 100 000 nested destructor calls.
    virtual ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    virtual std::string name() const = 0;
    // grads[i] is the gradient of output i (undefined when no path reached it: treat as zero).
    // Returns one gradient per next edge (undefined = zero / not needed).
    virtual tensor_list apply(tensor_list&& grads) = 0;
    // Drops saved tensors; a second backward through this node is then an error.
    virtual void release_saved() {}
    // Saved tensors by name, for graph dumps ("x", "weight", ...).
    virtual std::vector<std::pair<std::string, Tensor>> saved_tensors() const { return {}; }

    std::vector<Edge> next_edges;
    std::vector<OutputMeta> outputs;  // one per output
    // Creation order: the engine runs ready nodes newest first, which mirrors forward order
    // reversed and keeps memory low.
    uint64_t sequence_nr() const { return sequence_nr_; }
    bool released() const { return released_; }
    void mark_released() { released_ = true; }

    // Hooks on a non-leaf's gradient (Variable::register_hook), by output number.
    std::vector<std::pair<uint32_t, GradHook>> pre_hooks;

    // Whether input i of the forward call needs a gradient (saves work in apply()).
    bool needs_input_grad(size_t i) const { return i < next_edges.size() && next_edges[i].valid(); }

private:
    uint64_t sequence_nr_;
    bool released_ = false;
};

// The sink of a leaf: adds the incoming gradient to leaf.grad() (after the leaf's hooks), then
// runs its post-accumulate hooks. Holds the leaf strongly; the leaf caches it weakly, so a
// leaf used in several ops accumulates through one node.
class AccumulateGrad : public Node {
public:
    explicit AccumulateGrad(std::shared_ptr<VariableImpl> leaf);
    std::string name() const override { return "AccumulateGrad"; }
    tensor_list apply(tensor_list&& grads) override;
    const std::shared_ptr<VariableImpl>& leaf() const { return leaf_; }

private:
    std::shared_ptr<VariableImpl> leaf_;
};

// The edge a new node should point at for input v: its grad_fn, its leaf accumulator, or none.
Edge gradient_edge(const Variable& v);

}  // namespace segcore::autograd
