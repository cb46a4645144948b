#include "autograd/graph_dump.h"

#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "autograd/node.h"

namespace segcore::autograd {

namespace {

std::string meta(const OutputMeta& m) { return std::string(dtype_name(m.dtype)) + " " + shape_str(m.shape); }

// Nodes reachable from root in breadth-first order, with stable ids (0 = the root's grad_fn).
struct Graph {
    std::vector<const Node*> nodes;
    std::unordered_map<const Node*, size_t> id;
};

Graph collect(const Variable& root) {
    Graph g;
    const Edge e = gradient_edge(root);
    if (!e.valid()) return g;
    g.nodes.push_back(e.node.get());
    g.id[e.node.get()] = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (const Edge& next : g.nodes[i]->next_edges)
            if (next.valid() && !g.id.count(next.node.get())) {
                g.id[next.node.get()] = g.nodes.size();
                g.nodes.push_back(next.node.get());
            }
    return g;
}

std::string leaf_label(const Node* n) {
    const auto* acc = dynamic_cast<const AccumulateGrad*>(n);
    if (!acc) return "";
    const std::string& name = acc->leaf()->name;
    return name.empty() ? "leaf" : name;
}

}  // namespace

std::string graph_json(const Variable& root) {
    const Graph g = collect(root);
    nlohmann::json nodes = nlohmann::json::array(), edges = nlohmann::json::array();
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node* n = g.nodes[i];
        nlohmann::json j{{"id", i}, {"name", n->name()}};
        nlohmann::json saved = nlohmann::json::array(), outs = nlohmann::json::array();
        for (const auto& [name, t] : n->saved_tensors())
            saved.push_back({{"name", name}, {"tensor", t.defined() ? t.meta_str() : "(released)"}});
        for (const OutputMeta& m : n->outputs) outs.push_back(meta(m));
        j["saved"] = saved;
        j["outputs"] = outs;
        if (const std::string leaf = leaf_label(n); !leaf.empty()) j["leaf"] = leaf;
        nodes.push_back(j);
        for (size_t k = 0; k < n->next_edges.size(); ++k) {
            const Edge& e = n->next_edges[k];
            if (e.valid()) edges.push_back({{"from", i}, {"to", g.id.at(e.node.get())}, {"input", k}});
        }
    }
    return nlohmann::json{{"nodes", nodes}, {"edges", edges}}.dump(2);
}

std::string graph_dot(const Variable& root) {
    const Graph g = collect(root);
    std::ostringstream os;
    os << "digraph backward {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n";
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node* n = g.nodes[i];
        const std::string leaf = leaf_label(n);
        os << "  n" << i << " [label=\"" << n->name();
        if (!leaf.empty()) os << "\\n" << leaf;
        for (const OutputMeta& m : n->outputs) os << "\\nout: " << meta(m);
        for (const auto& [name, t] : n->saved_tensors())
            os << "\\nsaved " << name << ": " << (t.defined() ? t.meta_str() : "(released)");
        os << "\"" << (leaf.empty() ? "" : ", style=filled, fillcolor=lightblue") << "];\n";
    }
    for (size_t i = 0; i < g.nodes.size(); ++i)
        for (size_t k = 0; k < g.nodes[i]->next_edges.size(); ++k) {
            const Edge& e = g.nodes[i]->next_edges[k];
            if (e.valid()) os << "  n" << i << " -> n" << g.id.at(e.node.get()) << " [label=\"" << k << "\"];\n";
        }
    os << "}\n";
    return os.str();
}

}  // namespace segcore::autograd
