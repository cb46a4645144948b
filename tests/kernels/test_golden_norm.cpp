// Golden parity of batch_norm with torch.nn.functional.batch_norm (+ relu/relu6): output, the
// running statistics after the update, and every gradient. Fixture
// tests/golden/autograd_norm.safetensors (tests/golden/make_autograd_golden.py). Tolerances: f64
// 1e-10; f32 1e-5 absolute + relative (x10 for gradients, which sum over a channel).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "kernels/norm/batch_norm.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;

TEST_CASE("golden: batch_norm matches PyTorch", "[kernels][batch_norm][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/autograd_norm.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    REQUIRE(cases.size() == 10);
    for (const json& c : cases) {
        INFO(c.dump());
        const json& p = c["params"];
        const auto in = [&](const char* k) { return f.at(c["in"][k].get<std::string>()); };
        const auto out = [&](const char* k) { return f.at(c["out"][k].get<std::string>()); };
        const kernels::Act act = p["act"] == "relu" ? kernels::Act::Relu
                                 : p["act"] == "relu6" ? kernels::Act::Relu6
                                                       : kernels::Act::None;
        const bool training = p["training"].get<bool>();
        const test::Tolerance tol = c["dtype"] == "f64" ? test::Tolerance{1e-10, 1e-10} : test::Tolerance{1e-5, 1e-5};
        const test::Tolerance gtol = c["dtype"] == "f64" ? tol : test::Tolerance{1e-4, 1e-4};
        Tensor rm = in("rm").clone(), rv = in("rv").clone();
        const auto r = ops::batch_norm(in("x"), in("w"), in("b"), rm, rv, training, p["momentum"].get<double>(),
                                       p["eps"].get<double>(), act);
        REQUIRE_CLOSE(r.y, out("y"), tol);
        REQUIRE_CLOSE(rm, out("rm"), tol);
        REQUIRE_CLOSE(rv, out("rv"), tol);
        const auto g = ops::batch_norm_backward(in("dy"), in("x"), r.save_mean, r.save_invstd, in("w"), in("b"),
                                                training, act);
        REQUIRE_CLOSE(g.dx, out("dx"), gtol);
        REQUIRE_CLOSE(g.dgamma, out("dw"), gtol);
        REQUIRE_CLOSE(g.dbeta, out("db"), gtol);
    }
}
