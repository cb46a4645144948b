// f64 gradcheck of the fused per-pixel losses through autograd (functions/loss.cpp): the stored
// forward gradient, rescaled by backward, against central differences of the loss — for every
// reduction, class weights with label smoothing, focal gamma/alpha, OHEM (inputs chosen so no
// probability sits within eps of the threshold) and distillation.
#include <catch2/catch.hpp>

#include <random>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "autograd/node.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;

namespace {

Tensor labels_with_ignore(const Shape& shape, int64_t c, uint32_t seed) {
    std::mt19937 rng(seed);
    Tensor y = empty(shape, {DType::I64});
    for (int64_t i = 0; i < y.numel(); ++i) y.data<int64_t>()[i] = rng() % 5 == 0 ? 255 : int64_t(rng() % uint32_t(c));
    return y;
}

void check(const GradcheckFn& f, const std::vector<Tensor>& inputs) {
    const GradcheckResult r = gradcheck(f, inputs);
    INFO(r.message);
    REQUIRE(r.ok);
}

}  // namespace

TEST_CASE("gradcheck: cross_entropy", "[autograd][gradcheck][loss]") {
    const Tensor labels = labels_with_ignore({2, 3, 4}, 5, 1);
    const Tensor w = test::random_tensor({5}, DType::F64, 0.3, 2, 2);
    for (LossReduction red : {LossReduction::Mean, LossReduction::Sum, LossReduction::None})
        for (bool weighted : {false, true})
            for (double eps : {0.0, 0.15}) {
                INFO(loss_reduction_name(red) << " weighted " << weighted << " eps " << eps);
                ops::CrossEntropyOptions opt;
                opt.reduction = red;
                opt.weight = weighted ? w : Tensor();
                opt.label_smoothing = eps;
                check([&](const std::vector<Variable>& v) { return F::cross_entropy(v[0], labels, opt); },
                      {test::random_tensor({2, 5, 3, 4}, DType::F64, -3, 3, 3)});
            }
}

TEST_CASE("gradcheck: focal_loss", "[autograd][gradcheck][loss]") {
    const Tensor labels = labels_with_ignore({2, 3, 4}, 4, 4);
    for (double gamma : {0.0, 0.5, 2.0, 3.5})
        for (bool per_class : {false, true}) {
            INFO("gamma " << gamma << " per-class " << per_class);
            ops::FocalLossOptions opt;
            opt.gamma = gamma;
            opt.alpha = per_class ? test::random_tensor({4}, DType::F64, 0.1, 1, 5) : Tensor();
            opt.alpha_scalar = 0.25;
            check([&](const std::vector<Variable>& v) { return F::focal_loss(v[0], labels, opt); },
                  {test::random_tensor({2, 4, 3, 4}, DType::F64, -3, 3, 6)});
        }
    ops::FocalLossOptions none;
    none.reduction = LossReduction::None;
    check([&](const std::vector<Variable>& v) { return F::focal_loss(v[0], labels, none); },
          {test::random_tensor({2, 4, 3, 4}, DType::F64, -3, 3, 7)});
}

TEST_CASE("gradcheck: ohem_cross_entropy", "[autograd][gradcheck][loss]") {
    const Tensor labels = labels_with_ignore({2, 4, 5}, 3, 8);
    for (int64_t min_kept : {int64_t(3), int64_t(12)}) {
        INFO("min_kept " << min_kept);
        ops::OhemOptions opt;
        opt.thresh = 0.5;
        opt.min_kept = min_kept;
        opt.weight = test::random_tensor({3}, DType::F64, 0.5, 1.5, 9);
        check([&](const std::vector<Variable>& v) { return F::ohem_cross_entropy(v[0], labels, opt); },
              {test::random_tensor({2, 3, 4, 5}, DType::F64, -2, 2, 10)});
    }
}

TEST_CASE("gradcheck: kd_loss (student only)", "[autograd][gradcheck][loss]") {
    const Tensor teacher = test::random_tensor({2, 6, 3, 3}, DType::F64, -3, 3, 11);
    const Tensor labels = labels_with_ignore({2, 3, 3}, 6, 12);
    for (double temp : {1.0, 3.0})
        for (LossReduction red : {LossReduction::Mean, LossReduction::None}) {
            INFO("T " << temp << " " << loss_reduction_name(red));
            ops::KdLossOptions opt;
            opt.temperature = temp;
            opt.reduction = red;
            check([&](const std::vector<Variable>& v) { return F::kd_loss(v[0], teacher, labels, opt); },
                  {test::random_tensor({2, 6, 3, 3}, DType::F64, -3, 3, 13)});
        }
}

TEST_CASE("fused losses record a named node and no gradient buffer without grad", "[autograd][loss]") {
    const Tensor x = test::random_tensor({1, 3, 2, 2}, DType::F32, -1, 1, 14);
    const Tensor y = zeros({1, 2, 2}, {DType::I64});
    Variable v(x, true);
    const Variable loss = F::cross_entropy(v, y);
    REQUIRE(loss.grad_fn());
    REQUIRE(loss.grad_fn()->name() == "CrossEntropyBackward");
    loss.backward();
    REQUIRE(v.grad().defined());
    const Variable c(x, false);
    REQUIRE_FALSE(F::cross_entropy(c, y).grad_fn());
}
