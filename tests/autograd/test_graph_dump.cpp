// Graph dumps (autograd/graph_dump.h): what a learner sees of a recorded graph.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "autograd/graph_dump.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;

TEST_CASE("DOT and JSON show nodes, saved tensors, leaves and edges", "[autograd][graph]") {
    Variable w(ones({3, 2}), true), x(ones({4, 3}));
    w.set_name("weight");
    const Variable y = F::sum(F::relu(F::matmul(x, w)));
    const nlohmann::json j = nlohmann::json::parse(graph_json(y));
    std::vector<std::string> names;
    for (const auto& n : j["nodes"]) names.push_back(n["name"]);
    REQUIRE(names == std::vector<std::string>{"SumBackward", "ReluBackward", "MatmulBackward", "AccumulateGrad"});
    REQUIRE(j["nodes"][3]["leaf"] == "weight");
    REQUIRE(j["nodes"][1]["saved"][0]["name"] == "self");
    REQUIRE(j["nodes"][1]["saved"][0]["tensor"] == "f32 (4, 2) cpu");
    REQUIRE(j["nodes"][2]["outputs"][0] == "f32 (4, 2)");
    // x needs no gradient: MatmulBackward has one edge, from its input 1 (the weight).
    REQUIRE(j["edges"].size() == 3);
    REQUIRE(j["edges"][2]["input"] == 1);
    const std::string dot = graph_dot(y);
    REQUIRE(dot.find("digraph backward") != std::string::npos);
    REQUIRE(dot.find("n2 -> n3 [label=\"1\"]") != std::string::npos);
    REQUIRE(dot.find("weight") != std::string::npos);
    // After backward the saved tensors are gone, and the dump says so.
    y.backward();
    REQUIRE(graph_json(y).find("(released)") != std::string::npos);
}
