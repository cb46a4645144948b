// Golden parity of conv2d and conv_transpose2d with torch.nn.functional: forward and all three
// gradients.
// Fixture tests/golden/autograd_conv.safetensors (tests/golden/make_autograd_golden.py).
// Tolerances: f64 1e-12 relative; f32 1e-5 absolute + relative (sums of up to 75 products).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "kernels/conv/conv2d.h"
#include "kernels/conv/conv_transpose2d.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;

TEST_CASE("golden: conv2d matches PyTorch", "[kernels][conv2d][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/autograd_conv.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    REQUIRE(cases.size() == 28);
    for (const json& c : cases) {
        INFO(c.dump());
        const json& p = c["params"];
        const auto pair = [&](const char* k) { return p[k].get<std::vector<int64_t>>(); };
        const auto stride = pair("stride"), pad = pair("padding"), dil = pair("dilation");
        const ops::Conv2dOptions opt{stride[0], stride[1], pad[0], pad[1], dil[0], dil[1], p["groups"].get<int64_t>()};
        const auto in = [&](const char* k) { return f.at(c["in"][k].get<std::string>()); };
        const auto out = [&](const char* k) { return f.at(c["out"][k].get<std::string>()); };
        const test::Tolerance tol = c["dtype"] == "f64" ? test::Tolerance{1e-12, 1e-12} : test::Tolerance{1e-5, 1e-5};
        if (c["op"] == "conv_transpose2d") {
            const auto opad = pair("output_padding");
            const ops::ConvTranspose2dOptions topt{opt, opad[0], opad[1]};
            REQUIRE_CLOSE(ops::conv_transpose2d(in("x"), in("w"), in("b"), topt), out("y"), tol);
            REQUIRE_CLOSE(ops::conv_transpose2d_backward_input(in("dy"), in("w"), topt), out("dx"), tol);
            auto [dw, db] = ops::conv_transpose2d_backward_weight(in("x"), in("dy"), in("w").shape(), true, topt);
            REQUIRE_CLOSE(dw, out("dw"), tol);
            REQUIRE_CLOSE(db, out("db"), tol);
            continue;
        }
        REQUIRE_CLOSE(ops::conv2d(in("x"), in("w"), in("b"), opt), out("y"), tol);
        REQUIRE_CLOSE(ops::conv2d_backward_input(in("dy"), in("w"), in("x").shape(), opt), out("dx"), tol);
        auto [dw, db] = ops::conv2d_backward_weight(in("x"), in("dy"), in("w").shape(), true, opt);
        REQUIRE_CLOSE(dw, out("dw"), tol);
        REQUIRE_CLOSE(db, out("db"), tol);
    }
}
