// f64 gradchecks of the region losses through autograd (autograd/functions/loss_region.cpp):
// Dice, Generalised Dice, Tversky with their options and ignored pixels, and Lovász-softmax
// (piecewise linear in the errors: random logits keep the errors apart, so no tie sits within the
// finite-difference step). Also: the loss composes with other ops, and the recorded node names.
#include <catch2/catch.hpp>

#include <algorithm>

#include "autograd/functions.h"
#include "autograd/autocast.h"
#include "autograd/gradcheck.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;
using kernels::DiceVariant;

namespace {

Tensor labels_for(const Shape& shape, int64_t c, uint32_t seed, bool with_ignored) {
    const Tensor u = test::random_tensor(shape, DType::F64, 0, double(c) + (with_ignored ? 0.7 : 0.0), seed);
    Tensor l = empty(shape, {DType::I64});
    for (int64_t i = 0; i < l.numel(); ++i) {
        const int64_t v = int64_t(u.data<double>()[i]);
        l.data<int64_t>()[i] = v >= c ? 255 : v;
    }
    return l;
}

}  // namespace

TEST_CASE("gradcheck: dice, generalised dice, tversky", "[autograd][gradcheck][loss][dice]") {
    const Tensor l = labels_for({2, 3, 4}, 4, 7, true);
    for (DiceVariant v : {DiceVariant::Dice, DiceVariant::Generalized, DiceVariant::Tversky})
        for (bool bg : {true, false})
            for (bool present : {false, true}) {
                ops::DiceLossOptions o;
                o.variant = v;
                o.include_background = bg;
                o.present_only = present;
                o.alpha = 0.3;
                o.beta = 0.7;
                o.smooth = v == DiceVariant::Generalized ? 1e-3 : 0.5;
                INFO(kernels::dice_variant_name(v) << " bg " << bg << " present " << present);
                const auto r = gradcheck([&](const std::vector<Variable>& x) { return F::dice_loss(x[0], l, o); },
                                         {test::random_tensor({2, 4, 3, 4}, DType::F64, -2, 2, 1)});
                INFO(r.message);
                REQUIRE(r.ok);
            }
    // Composed: the loss times a learnable scale, plus the same logits through another op.
    const auto r = gradcheck(
        [&](const std::vector<Variable>& x) {
            return F::add(F::mul(F::dice_loss(F::mul(x[0], x[1]), l), x[1]), F::tversky_loss(x[0], l, 0.2, 0.8));
        },
        {test::random_tensor({2, 4, 3, 4}, DType::F64, -2, 2, 2), test::random_tensor({}, DType::F64, 0.5, 1.5, 3)});
    INFO(r.message);
    REQUIRE(r.ok);
}

TEST_CASE("gradcheck: lovasz-softmax", "[autograd][gradcheck][loss][lovasz]") {
    for (bool with_ignored : {false, true})
        for (bool present : {true, false})
            for (bool bg : {true, false}) {
                const Tensor l = labels_for({2, 3, 5}, 3, 11, with_ignored);
                ops::LovaszOptions o;
                o.present_only = present;
                o.include_background = bg;
                INFO("ignored " << with_ignored << " present " << present << " bg " << bg);
                const auto r = gradcheck([&](const std::vector<Variable>& x) { return F::lovasz_softmax(x[0], l, o); },
                                         {test::random_tensor({2, 3, 3, 5}, DType::F64, -3, 3, 12)});
                INFO(r.message);
                REQUIRE(r.ok);
            }
}

TEST_CASE("region losses: nodes, no grad mode, labels never need a gradient", "[autograd][loss]") {
    const Tensor l = labels_for({1, 2, 3}, 3, 21, false);
    Variable x(test::random_tensor({1, 3, 2, 3}, DType::F32, -1, 1, 22), true);
    ops::DiceLossOptions g;
    g.variant = DiceVariant::Generalized;
    REQUIRE(F::dice_loss(x, l).grad_fn()->name() == "DiceLossBackward");
    REQUIRE(F::dice_loss(x, l, g).grad_fn()->name() == "GeneralizedDiceLossBackward");
    REQUIRE(F::tversky_loss(x, l, 0.3, 0.7).grad_fn()->name() == "TverskyLossBackward");
    Variable lv = F::lovasz_softmax(x, l);
    REQUIRE(lv.grad_fn()->name() == "LovaszSoftmaxBackward");
    lv.backward();
    REQUIRE(x.grad().defined());
    REQUIRE(x.grad().dtype() == DType::F32);
    {
        NoGradGuard ng;
        REQUIRE(!F::dice_loss(x, l).requires_grad());
        REQUIRE(!F::lovasz_softmax(x, l).requires_grad());
    }
    // Autocast: bf16 logits run in f32 and the gradient comes back in bf16.
    Variable xb(test::random_tensor({1, 3, 2, 3}, DType::BF16, -1, 1, 23), true);
    {
        AutocastGuard ag(DType::BF16);
        Variable loss = F::dice_loss(xb, l);
        REQUIRE(loss.dtype() == DType::F32);
        loss.backward();
    }
    REQUIRE(xb.grad().dtype() == DType::BF16);
}
