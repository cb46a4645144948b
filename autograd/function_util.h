#pragma once
// Helpers for writing differentiable functions (autograd/functions/*.cpp):
//
//   Variable relu(const Variable& x) {
//       Tensor y = ops::relu(x.data());
//       auto node = record<ReluBackward>({&x});      // nullptr when nothing needs a gradient
//       if (node) node->x = x.data();                // save what the formula needs
//       return make_output(std::move(y), node);
//   }
#include <initializer_list>
#include <memory>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/variable.h"

namespace segcore::autograd {

inline bool any_requires_grad(std::initializer_list<const Variable*> inputs) {
    for (const Variable* v : inputs)
        if (v->requires_grad()) return true;
    return false;
}

inline bool any_requires_grad(const std::vector<Variable>& inputs) {
    for (const Variable& v : inputs)
        if (v.requires_grad()) return true;
    return false;
}

// A new node of type N wired to the inputs, or nullptr when grad mode is off or no input needs a
// gradient (then nothing is recorded and nothing is saved).
template <typename N, typename... Args>
std::shared_ptr<N> record(std::initializer_list<const Variable*> inputs, Args&&... args) {
    if (!grad_enabled() || !any_requires_grad(inputs)) return nullptr;
    auto node = std::make_shared<N>(std::forward<Args>(args)...);
    node->next_edges.reserve(inputs.size());
    for (const Variable* v : inputs) node->next_edges.push_back(gradient_edge(*v));
    return node;
}

template <typename N, typename... Args>
std::shared_ptr<N> record(const std::vector<Variable>& inputs, Args&&... args) {
    if (!grad_enabled() || !any_requires_grad(inputs)) return nullptr;
    auto node = std::make_shared<N>(std::forward<Args>(args)...);
    node->next_edges.reserve(inputs.size());
    for (const Variable& v : inputs) node->next_edges.push_back(gradient_edge(v));
    return node;
}

// Wraps an op's result: output `nr` of `node` when one was recorded, else a constant.
inline Variable make_output(Tensor t, const std::shared_ptr<Node>& node, uint32_t nr = 0) {
    if (!node) return Variable(std::move(t), false);
    if (node->outputs.size() <= nr) node->outputs.resize(nr + 1);
    node->outputs[nr] = {t.shape(), t.dtype(), t.device()};
    return Variable(std::move(t), node, nr);
}

// Sums a broadcast gradient back to `shape` (the inverse of expand): leading dims are summed
// away, dims of size 1 in `shape` are summed with keepdim.
Tensor sum_to(const Tensor& g, const Shape& shape);

}  // namespace segcore::autograd
