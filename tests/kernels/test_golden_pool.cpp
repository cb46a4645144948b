// Golden parity of pooling and resizing with torch.nn.functional (PyTorch 1.13, CPU): forward and
// input gradients of max_pool2d (values, indices: ties keep the first maximum, NaN propagates),
// max_unpool2d, avg_pool2d, adaptive_avg_pool2d and interpolate (bilinear / nearest /
// nearest-exact, by size and by scale factor). Fixture tests/golden/autograd_pool.safetensors
// (tests/golden/make_autograd_golden.py, make_pool_resize).
// Tolerances: f64 1e-12; f32 1e-5 absolute + relative. Max-pool values and indices: exact.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;

namespace {

std::vector<int64_t> pair_of(const json& p, const char* k) { return p[k].get<std::vector<int64_t>>(); }

kernels::InterpMode mode_of(const std::string& m) {
    if (m == "bilinear") return kernels::InterpMode::Bilinear;
    if (m == "nearest") return kernels::InterpMode::Nearest;
    REQUIRE(m == "nearest-exact");
    return kernels::InterpMode::NearestExact;
}

}  // namespace

TEST_CASE("golden: pooling and interpolation match PyTorch", "[kernels][pool][resize][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/autograd_pool.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    REQUIRE(cases.size() == 96);
    std::map<std::string, int> seen;
    for (const json& c : cases) {
        INFO(c.dump());
        const json& p = c["params"];
        const std::string op = c["op"];
        ++seen[op];
        const auto in = [&](const char* k) { return f.at(c["in"][k].get<std::string>()); };
        const auto out = [&](const char* k) { return f.at(c["out"][k].get<std::string>()); };
        const test::Tolerance tol = c["dtype"] == "f64" ? test::Tolerance{1e-12, 1e-12} : test::Tolerance{1e-5, 1e-5};
        const test::Tolerance exact{0, 0};
        const Tensor x = in("x");
        if (op == "max_pool2d") {
            const auto k = pair_of(p, "kernel"), s = pair_of(p, "stride"), pad = pair_of(p, "padding"),
                       d = pair_of(p, "dilation");
            const ops::MaxPool2dOptions o{
                k[0], k[1], s[0], s[1], pad[0], pad[1], d[0], d[1], p["ceil_mode"].get<bool>()};
            auto [y, idx] = ops::max_pool2d(x, o);
            REQUIRE_CLOSE(y, out("y"), exact);
            REQUIRE_CLOSE(idx, out("indices"), exact);
            REQUIRE_CLOSE(ops::max_pool2d_backward(in("dy"), idx, x.shape(), o), out("dx"), tol);
        } else if (op == "max_unpool2d") {
            const auto size = pair_of(p, "out_size");
            REQUIRE_CLOSE(ops::max_unpool2d(x, in("indices"), size[0], size[1]), out("y"), exact);
            REQUIRE_CLOSE(ops::max_unpool2d_backward(in("dy"), in("indices")), out("dx"), exact);
        } else if (op == "avg_pool2d") {
            const auto k = pair_of(p, "kernel"), s = pair_of(p, "stride"), pad = pair_of(p, "padding");
            const ops::AvgPool2dOptions o{
                k[0], k[1], s[0], s[1], pad[0], pad[1], p["ceil_mode"].get<bool>(), p["count_include_pad"].get<bool>()};
            REQUIRE_CLOSE(ops::avg_pool2d(x, o), out("y"), tol);
            REQUIRE_CLOSE(ops::avg_pool2d_backward(in("dy"), x.shape(), o), out("dx"), tol);
        } else if (op == "adaptive_avg_pool2d") {
            const auto size = pair_of(p, "out_size");
            REQUIRE_CLOSE(ops::adaptive_avg_pool2d(x, size[0], size[1]), out("y"), tol);
            REQUIRE_CLOSE(ops::adaptive_avg_pool2d_backward(in("dy"), x.shape()), out("dx"), tol);
        } else {
            REQUIRE(op == "interpolate");
            ops::InterpolateOptions o;
            o.mode = mode_of(p["mode"]);
            o.align_corners = p["align_corners"].get<bool>();
            if (p.contains("size")) {
                o.out_h = p["size"][0], o.out_w = p["size"][1];
            } else {
                o.scale_h = p["scale"][0], o.scale_w = p["scale"][1];
            }
            REQUIRE_CLOSE(ops::interpolate(x, o), out("y"), tol);
            REQUIRE_CLOSE(ops::interpolate_backward(in("dy"), x.shape(), o), out("dx"), tol);
        }
    }
    CHECK(seen["max_pool2d"] == 18);
    CHECK(seen["max_unpool2d"] == 6);
    CHECK(seen["interpolate"] == 42);
}
