// Golden parity of the region losses with PyTorch composites (tests/golden/loss_dice.safetensors,
// written by make_loss_dice in tests/golden/make_autograd_golden.py): Dice, Generalised Dice and
// Tversky built from softmax / one_hot / sums, and Lovász-softmax from the reference
// implementation's algorithm, each differentiated by torch.autograd. Loss and logits gradient for
// an upstream gradient dy; f32 and f64. Tolerances: f64 1e-10; f32 1e-5 (gradients 1e-5 absolute,
// they are O(1 / pixels)).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "kernels/loss/dice.h"
#include "kernels/loss/lovasz.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;

TEST_CASE("golden: region losses match PyTorch", "[kernels][loss][dice][lovasz][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/loss_dice.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    REQUIRE(cases.size() == 20);
    for (const json& c : cases) {
        INFO(c.dump());
        const json& p = c["params"];
        const auto in = [&](const char* k) { return f.at(c["in"][k].get<std::string>()); };
        const auto out = [&](const char* k) { return f.at(c["out"][k].get<std::string>()); };
        const bool f64 = c["dtype"] == "f64";
        const test::Tolerance tol = f64 ? test::Tolerance{1e-10, 1e-10} : test::Tolerance{1e-5, 1e-5};
        const Tensor x = in("x"), y = in("y"), dy = in("dy");
        Tensor loss, dx;
        const std::string variant = p["variant"];
        if (variant == "lovasz") {
            ops::LovaszOptions o;
            o.include_background = p["include_background"].get<bool>();
            o.present_only = p["present_only"].get<bool>();
            const auto r = ops::lovasz_softmax(x, y, o, true);
            loss = r.loss;
            dx = ops::lovasz_softmax_backward(dy, x, r.dldp);
        } else {
            ops::DiceLossOptions o;
            o.variant = variant == "dice"               ? kernels::DiceVariant::Dice
                        : variant == "generalized_dice" ? kernels::DiceVariant::Generalized
                                                        : kernels::DiceVariant::Tversky;
            o.include_background = p["include_background"].get<bool>();
            o.present_only = p["present_only"].get<bool>();
            o.smooth = p["smooth"].get<double>();
            o.alpha = p["alpha"].get<double>();
            o.beta = p["beta"].get<double>();
            const auto r = ops::dice_loss(x, y, o);
            loss = r.loss;
            dx = ops::dice_loss_backward(dy, x, y, r.stats, o);
        }
        REQUIRE_CLOSE(loss, out("loss"), tol);
        REQUIRE_CLOSE(dx, out("dx"), tol);
    }
}
