#pragma once
// Prints the recorded backward graph of a variable, so a learner can see what backward() will do:
// one entry per node (its Backward name, saved tensors with shapes, output shapes) and one edge
// per gradient path, from the output towards the leaves.
//   graph_dot   Graphviz: `dot -Tsvg graph.dot > graph.svg`
//   graph_json  {"nodes": [{"id", "name", "saved": [...], "outputs": [...], "leaf"?}], "edges": [...]}
#include <string>

#include "autograd/variable.h"

namespace segcore::autograd {

std::string graph_dot(const Variable& root);
std::string graph_json(const Variable& root);

}  // namespace segcore::autograd
