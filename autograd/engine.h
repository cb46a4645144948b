#pragma once
// The backward engine.
//
// run_backward walks the graph reachable from the roots without recursion (an explicit stack, so
// a 100 000-op chain is fine), counts each node's incoming edges, then executes nodes whose
// gradients are complete, newest first (a max-heap on sequence number). Gradients arriving at
// one node from several uses are summed in that node's input buffer before it runs. After a node
// runs, its saved tensors are released unless retain_graph is set; backward through a released
// node is an error that says to pass retain_graph.
#include <vector>

#include "autograd/variable.h"
#include "core/tensor.h"

namespace segcore::autograd {

// grads[i] seeds roots[i]; an undefined grad means ones (scalar roots only).
void run_backward(const std::vector<Variable>& roots, const std::vector<Tensor>& grads, bool retain_graph);

// Gradients of `outputs` with respect to `inputs` (which need not be leaves), returned instead of
// accumulated into .grad(); leaves' .grad() are left untouched. Undefined where no path exists.
std::vector<Tensor> grad(const std::vector<Variable>& outputs, const std::vector<Variable>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false);

}  // namespace segcore::autograd
