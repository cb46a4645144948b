// Golden parity of the fused per-pixel losses with PyTorch 1.13: F.cross_entropy (weight,
// ignore_index incl. PyTorch's -100, label_smoothing, every reduction), a focal-loss composite,
// the distillation KL (F.kl_div(log_softmax(s/T), softmax(t/T), "none").sum(1) * T^2, per-pixel
// mean) and mmseg's OHEM rule: loss and logits gradient for an upstream gradient. Fixture
// tests/golden/loss_ce.safetensors (tests/golden/make_autograd_golden.py, make_loss_ce).
// Tolerances: f64 1e-10; f32 1e-5 on the loss, 1e-6 absolute + 1e-4 relative on the gradient.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;

TEST_CASE("golden: fused losses match PyTorch", "[kernels][loss][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/loss_ce.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    REQUIRE(cases.size() == 46);
    for (const json& c : cases) {
        INFO(c.dump());
        const json& p = c["params"];
        const auto in = [&](const char* k) { return f.at(c["in"][k].get<std::string>()); };
        const auto has = [&](const char* k) { return c["in"].contains(k); };
        const auto out = [&](const char* k) { return f.at(c["out"][k].get<std::string>()); };
        const bool f64 = c["dtype"] == "f64";
        const test::Tolerance tol = f64 ? test::Tolerance{1e-10, 1e-10} : test::Tolerance{1e-5, 1e-5};
        const test::Tolerance gtol = f64 ? test::Tolerance{1e-10, 1e-9} : test::Tolerance{1e-6, 1e-4};
        const std::string op = c["op"];
        ops::PixelLossResult r;
        Tensor dy = ones({}, {f64 ? DType::F64 : DType::F32});
        if (op == "cross_entropy") {
            ops::CrossEntropyOptions opt;
            opt.ignore_index = p["ignore_index"].get<int64_t>();
            opt.label_smoothing = p["label_smoothing"].get<double>();
            opt.reduction = parse_loss_reduction(p["reduction"].get<std::string>());
            if (has("w")) opt.weight = in("w");
            r = ops::cross_entropy_fused(in("x"), in("y"), opt, true);
            dy = in("dy");
        } else if (op == "focal_loss") {
            ops::FocalLossOptions opt;
            opt.gamma = p["gamma"].get<double>();
            opt.alpha_scalar = p["alpha_scalar"].get<double>();
            if (has("alpha")) opt.alpha = in("alpha");
            r = ops::focal_loss_fused(in("x"), in("y"), opt, true);
        } else if (op == "kd_loss") {
            ops::KdLossOptions opt;
            opt.temperature = p["temperature"].get<double>();
            r = ops::kd_loss_fused(in("s"), in("t"), p["masked"].get<bool>() ? in("y") : Tensor(), opt, true);
        } else if (op == "ohem_cross_entropy") {
            ops::OhemOptions opt;
            opt.thresh = p["thresh"].get<double>();
            opt.min_kept = p["min_kept"].get<int64_t>();
            if (has("w")) opt.weight = in("w");
            r = ops::ohem_cross_entropy_fused(in("x"), in("y"), opt, true);
        } else {
            FAIL("unknown op " << op);
        }
        REQUIRE_CLOSE(r.loss, out("loss"), tol);
        REQUIRE_CLOSE(ops::pixel_loss_backward(dy, r), out("dx"), gtol);
    }
}
