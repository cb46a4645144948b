// seg::CombinedLoss (seg/losses/combined.h): the weighted sum and its gradient equal the terms
// computed one by one; every loss type builds from JSON; strict validation names the JSON path
// and lists the allowed keys / types.
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "seg/losses/combined.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;
namespace F = segcore::autograd;

namespace {

Tensor make_labels(const Shape& shape, int64_t c, uint32_t seed) {
    const Tensor u = test::random_tensor(shape, DType::F64, 0, double(c) + 0.5, seed);
    Tensor l = empty(shape, {DType::I64});
    for (int64_t i = 0; i < l.numel(); ++i) {
        const int64_t v = int64_t(u.data<double>()[i]);
        l.data<int64_t>()[i] = v >= c ? 255 : v;
    }
    return l;
}

}  // namespace

TEST_CASE("combined loss: 1.0*CE + 0.5*Dice equals the terms, loss and gradient", "[seg][loss][combined]") {
    const Tensor x0 = test::random_tensor({2, 4, 5, 6}, DType::F64, -2, 2, 1);
    const Tensor l = make_labels({2, 5, 6}, 4, 2);
    const seg::CombinedLoss loss = seg::CombinedLoss::from_json(json::parse(R"({
        "terms": [{"type": "cross_entropy", "weight": 1.0},
                  {"type": "dice", "weight": 0.5, "classes": "present", "smooth": 1.0}]})"));
    REQUIRE(loss.str() == "1*cross_entropy + 0.5*dice");
    F::Variable x(x0, true);
    const seg::CombinedLossOutput out = loss(x, l);
    REQUIRE(out.terms.size() == 2);
    out.loss.backward();

    F::Variable y(x0, true);
    ops::DiceLossOptions d;
    d.present_only = true;
    const F::Variable ce = F::cross_entropy(y, l);
    const F::Variable dice = F::dice_loss(y, l, d);
    F::add(ce, F::mul(dice, 0.5)).backward();
    REQUIRE(out.loss.data().item_double() ==
            Approx(ce.data().item_double() + 0.5 * dice.data().item_double()).margin(1e-12));
    REQUIRE_CLOSE(x.grad(), y.grad(), (test::Tolerance{1e-12, 1e-10}));
    const auto b = out.breakdown();
    REQUIRE(b.size() == 3);
    REQUIRE(b[0].first == "cross_entropy");
    REQUIRE(b[0].second == Approx(ce.data().item_double()));
    REQUIRE(b[1].first == "dice");
    REQUIRE(b[1].second == Approx(dice.data().item_double()));
    REQUIRE(b[2].first == "total");
}

TEST_CASE("combined loss: every type builds and runs", "[seg][loss][combined]") {
    const Tensor x0 = test::random_tensor({2, 3, 4, 5}, DType::F32, -2, 2, 3);
    const Tensor teacher = test::random_tensor({2, 3, 4, 5}, DType::F32, -2, 2, 4);
    const Tensor l = make_labels({2, 4, 5}, 3, 5);
    const seg::CombinedLoss loss = seg::CombinedLoss::from_json(json::parse(R"({
        "ignore_index": 255,
        "terms": [
          {"type": "cross_entropy", "label_smoothing": 0.1, "class_weights": [1, 2, 0.5]},
          {"type": "focal", "gamma": 2, "alpha": [0.25, 0.5, 0.25], "weight": 0.5},
          {"type": "focal", "name": "focal_scalar", "alpha": 0.25},
          {"type": "ohem", "thresh": 0.7, "min_kept": 10},
          {"type": "kd", "temperature": 2.0, "weight": 0.1},
          {"type": "dice", "include_background": false},
          {"type": "generalized_dice", "weight_clamp": 1.0, "smooth": 1e-5},
          {"type": "tversky", "alpha": 0.3, "beta": 0.7, "classes": "all"},
          {"type": "lovasz", "classes": "present", "weight": 0.25}]})"));
    REQUIRE(loss.terms().size() == 9);
    F::Variable x(x0, true);
    const seg::CombinedLossOutput out = loss(x, l, teacher);
    double total = 0;
    for (const auto& t : out.terms) total += t.weight * t.value.data().item_double();
    REQUIRE(out.loss.data().item_double() == Approx(total).epsilon(1e-5));
    out.loss.backward();
    REQUIRE(x.grad().defined());
    REQUIRE_THROWS_WITH(loss(x, l), Catch::Contains("loss term 'kd' (kd) needs the teacher's logits"));
}

TEST_CASE("combined loss: the top-level ignore_index is every term's default", "[seg][loss][combined]") {
    const Tensor x0 = test::random_tensor({1, 3, 4, 4}, DType::F64, -2, 2, 6);
    Tensor l = make_labels({1, 4, 4}, 3, 7);
    for (int64_t i = 0; i < l.numel(); ++i)
        if (l.data<int64_t>()[i] == 255) l.data<int64_t>()[i] = -1;
    const auto loss = seg::CombinedLoss::from_json(
        json::parse(R"({"ignore_index": -1, "terms": [{"type": "dice"}, {"type": "lovasz"}]})"));
    ops::DiceLossOptions d;
    d.ignore_index = -1;
    ops::LovaszOptions lo;
    lo.ignore_index = -1;
    const auto out = loss(F::Variable(x0), l);
    REQUIRE(out.terms[0].value.data().item_double() == ops::dice_loss(x0, l, d).loss.item_double());
    REQUIRE(out.terms[1].value.data().item_double() == ops::lovasz_softmax(x0, l, lo).loss.item_double());
}

TEST_CASE("combined loss: strict validation", "[seg][loss][combined]") {
    const auto err = [](const char* text) {
        try {
            seg::CombinedLoss::from_json(json::parse(text));
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK_THAT(err(R"({"terms": [{"type": "dice"}, {"type": "focal", "gama": 2}]})"),
               Catch::Contains("loss.terms[1]: unknown key \"gama\" for a \"focal\" term (allowed: type, weight, name, "
                               "ignore_index, gamma, alpha)"));
    CHECK_THAT(err(R"({"terms": [{"type": "dise"}]})"),
               Catch::Contains("loss.terms[0].type: unknown loss type \"dise\" (allowed: cross_entropy, focal, ohem, "
                               "kd, dice, generalized_dice, tversky, lovasz)"));
    CHECK_THAT(err(R"({"terms": [{"type": "dice"}], "reduction": "mean"})"),
               Catch::Contains("loss: unknown key \"reduction\" (allowed: terms, ignore_index)"));
    CHECK_THAT(err(R"({"terms": [{"type": "dice", "weight": "half"}]})"),
               Catch::Contains("loss.terms[0].weight: expected a number, got \"half\""));
    CHECK_THAT(err(R"({"terms": [{"type": "lovasz", "classes": "some"}]})"),
               Catch::Contains("loss.terms[0].classes: expected \"present\" or \"all\", got \"some\""));
    CHECK_THAT(err(R"({"terms": [{"type": "dice", "include_background": 1}]})"),
               Catch::Contains("loss.terms[0].include_background: expected true or false"));
    CHECK_THAT(err(R"({"terms": [{"type": "cross_entropy", "class_weights": [1, "a"]}]})"),
               Catch::Contains("loss.terms[0].class_weights[1]: expected a finite number"));
    CHECK_THAT(err(R"({"terms": [{"type": "dice"}, {"type": "dice"}]})"),
               Catch::Contains("loss.terms[1]: a second term named \"dice\""));
    CHECK_THAT(err(R"({"terms": []})"), Catch::Contains("loss.terms: expected a non-empty array"));
    CHECK_THAT(err(R"({"terms": [{"weight": 1}]})"), Catch::Contains("loss.terms[0]: missing \"type\""));
    CHECK_THAT(err(R"({"terms": [{"type": "tversky", "smooth": 1, "gamma": 2}]})"),
               Catch::Contains("(allowed: type, weight, name, ignore_index, smooth, include_background, classes, "
                               "alpha, beta)"));
    CHECK_THAT(err(R"({"terms": [{"type": "kd", "temperature": 0}]})"),
               Catch::Contains("loss.terms[0].temperature: expected a number > 0"));
    CHECK_THAT(err(R"({"terms": [{"type": "ohem", "ignore_index": 2.5}]})"),
               Catch::Contains("loss.terms[0].ignore_index: expected an integer"));
    // Class vectors are checked against the logits at call time.
    const auto loss = seg::CombinedLoss::from_json(
        json::parse(R"({"terms": [{"type": "cross_entropy", "class_weights": [1, 2]}]})"));
    REQUIRE_THROWS_WITH(loss(F::Variable(zeros({1, 3, 2, 2})), zeros({1, 2, 2}, {DType::I64})),
                        Catch::Contains("loss term 'cross_entropy': class_weights has 2 values but the logits have 3 "
                                        "classes"));
}
