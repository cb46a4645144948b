// f64 gradcheck (autograd/gradcheck.h) for every differentiable Foundation op: each op's
// backward formula against central finite differences, including broadcasting, reductions over
// several dims, views, concat/split and softmax. Inputs are kept away from kinks (relu at 0,
// clamp bounds) where the finite difference is not the derivative.
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;
using segcore::test::random_tensor;

namespace {

Tensor rnd(const Shape& s, double lo = -2, double hi = 2, uint32_t seed = 7) {
    return random_tensor(s, DType::F64, lo, hi, seed);
}

// Values bounded away from zero (|x| in [0.3, 2]) with random sign: safe for relu/abs/div kinks.
Tensor away_from_zero(const Shape& s, uint32_t seed = 11) {
    Tensor mag = rnd(s, 0.3, 2.0, seed);
    Tensor sign = rnd(s, -1, 1, seed + 1);
    double* m = mag.data<double>();
    const double* sg = sign.data<double>();
    for (int64_t i = 0; i < mag.numel(); ++i) m[i] = sg[i] < 0 ? -m[i] : m[i];
    return mag;
}

void check(const GradcheckFn& f, const std::vector<Tensor>& in, const std::vector<size_t>& no_grad = {}) {
    const GradcheckResult r = gradcheck(f, in, {}, no_grad);
    INFO(r.message);
    REQUIRE(r.ok);
}

using V = std::vector<Variable>;

}  // namespace

TEST_CASE("gradcheck: unary ops", "[autograd][gradcheck]") {
    const Shape s{3, 5};
    const Tensor x = away_from_zero(s);
    const Tensor pos = rnd(s, 0.2, 3.0);
    SECTION("activations") {
        check([](const V& v) { return F::relu(v[0]); }, {x});
        check([](const V& v) { return F::relu6(F::mul(v[0], 4.0)); }, {x});  // some above 6
        check([](const V& v) { return F::leaky_relu(v[0], 0.2); }, {x});
        check([](const V& v) { return F::sigmoid(v[0]); }, {x});
        check([](const V& v) { return F::tanh(v[0]); }, {x});
        check([](const V& v) { return F::gelu(v[0]); }, {x});
        check([](const V& v) { return F::gelu(v[0], true); }, {x});
        check([](const V& v) { return F::hardswish(F::mul(v[0], 2.5)); }, {x});  // all three pieces
    }
    SECTION("math") {
        check([](const V& v) { return F::neg(v[0]); }, {x});
        check([](const V& v) { return F::abs(v[0]); }, {x});
        check([](const V& v) { return F::exp(v[0]); }, {x});
        check([](const V& v) { return F::log(v[0]); }, {pos});
        check([](const V& v) { return F::sqrt(v[0]); }, {pos});
        check([](const V& v) { return F::rsqrt(v[0]); }, {pos});
        check([](const V& v) { return F::square(v[0]); }, {x});
        check([](const V& v) { return F::pow(v[0], 3.0); }, {x});
        check([](const V& v) { return F::pow(v[0], 0.5); }, {pos});
        check([](const V& v) { return F::pow(v[0], -1.5); }, {pos});
        check([](const V& v) { return F::clamp(v[0], -1.0, 1.0); }, {away_from_zero(s, 99)});
        check([](const V& v) { return F::clamp_min(v[0], 0.1); }, {x});
    }
    SECTION("scalar arithmetic") {
        check([](const V& v) { return F::add(v[0], 2.5); }, {x});
        check([](const V& v) { return F::sub(v[0], 2.5); }, {x});
        check([](const V& v) { return F::mul(v[0], -3.0); }, {x});
        check([](const V& v) { return F::div(v[0], 4.0); }, {x});
        check([](const V& v) { return F::rsub(v[0], 1.0); }, {x});
        check([](const V& v) { return F::rdiv(v[0], 2.0); }, {x});
        check([](const V& v) { return 1.0 - 2.0 * v[0] / 3.0 + 0.5; }, {x});
    }
}

TEST_CASE("gradcheck: binary ops with broadcasting", "[autograd][gradcheck]") {
    const Tensor a = rnd({2, 3, 4}, -2, 2, 1);
    const Tensor b_full = rnd({2, 3, 4}, -2, 2, 2);
    const Tensor b_row = rnd({4}, -2, 2, 3);
    const Tensor b_mid = rnd({3, 1}, -2, 2, 4);
    const Tensor b_scalar = rnd({}, -2, 2, 5);
    const Tensor pos = rnd({3, 1}, 0.5, 2, 6);
    for (const Tensor& b : {b_full, b_row, b_mid, b_scalar}) {
        INFO("b " << shape_str(b.shape()));
        check([](const V& v) { return F::add(v[0], v[1], 0.7); }, {a, b});
        check([](const V& v) { return F::sub(v[0], v[1], 1.3); }, {a, b});
        check([](const V& v) { return F::mul(v[0], v[1]); }, {a, b});
        check([](const V& v) { return F::maximum(v[0], v[1]); }, {a, b});
        check([](const V& v) { return F::minimum(v[0], v[1]); }, {a, b});
        check([](const V& v) { return F::sub(v[1], v[0]); }, {a, b});  // broadcast on the left
    }
    check([](const V& v) { return F::div(v[0], v[1]); }, {a, pos});
    check([](const V& v) { return F::div(v[1], v[0]); }, {away_from_zero({2, 3, 4}), pos});
    // The same variable on both sides: gradients from both uses add up.
    check([](const V& v) { return F::mul(v[0], v[0]); }, {a});
}

TEST_CASE("gradcheck: where", "[autograd][gradcheck]") {
    const Tensor c = ops::gt(rnd({3, 4}, -1, 1, 9), 0.0);
    check([c](const V& v) { return F::where(c, v[0], v[1]); }, {rnd({3, 4}), rnd({4}, -1, 1, 3)});
}

TEST_CASE("gradcheck: reductions", "[autograd][gradcheck]") {
    const Tensor x = rnd({3, 4, 5});
    for (bool keep : {false, true}) {
        INFO("keepdim " << keep);
        check([keep](const V& v) { return F::sum(v[0], {}, keep); }, {x});
        check([keep](const V& v) { return F::sum(v[0], {1}, keep); }, {x});
        check([keep](const V& v) { return F::sum(v[0], {0, 2}, keep); }, {x});
        check([keep](const V& v) { return F::mean(v[0], {-1}, keep); }, {x});
        check([keep](const V& v) { return F::mean(v[0], {0, 1}, keep); }, {x});
        check([keep](const V& v) { return F::max(v[0], {1}, keep); }, {x});
        check([keep](const V& v) { return F::min(v[0], {0, 2}, keep); }, {x});
        check([keep](const V& v) { return F::var(v[0], {2}, 1, keep); }, {x});
        check([keep](const V& v) { return F::var(v[0], {0, 1}, 0, keep); }, {x});
        check([keep](const V& v) { return F::std(v[0], {1}, 1, keep); }, {x});
    }
    check([](const V& v) { return F::max(v[0]); }, {x});
    check([](const V& v) { return F::std(v[0]); }, {x});
}

TEST_CASE("max/min share the gradient among ties, like torch.amax", "[autograd]") {
    Variable x(from_vector<double>({1, 3, 3, 2}, {4}), true);
    F::max(x).backward();
    REQUIRE(x.grad().get_double(0) == 0.0);
    REQUIRE(x.grad().get_double(1) == 0.5);
    REQUIRE(x.grad().get_double(2) == 0.5);
    REQUIRE(x.grad().get_double(3) == 0.0);
}

TEST_CASE("gradcheck: views", "[autograd][gradcheck]") {
    const Tensor x = rnd({2, 3, 4});
    check([](const V& v) { return F::reshape(v[0], {4, 6}); }, {x});
    check([](const V& v) { return F::view(v[0], {6, -1}); }, {x});
    check([](const V& v) { return F::flatten(v[0], 1); }, {x});
    check([](const V& v) { return F::permute(v[0], {2, 0, 1}); }, {x});
    check([](const V& v) { return F::transpose(v[0], 0, 2); }, {x});
    check([](const V& v) { return F::narrow(v[0], 2, 1, 2); }, {x});
    check([](const V& v) { return F::slice(v[0], 1, 0, 3, 2); }, {x});
    check([](const V& v) { return F::select(v[0], 1, 2); }, {x});
    check([](const V& v) { return F::expand(v[0], {5, 3, 4}); }, {rnd({1, 3, 1})});
    check([](const V& v) { return F::squeeze(v[0]); }, {rnd({3, 1, 2})});
    check([](const V& v) { return F::unsqueeze(v[0], 1); }, {rnd({3, 2})});
    check([](const V& v) { return F::contiguous(F::transpose(v[0], 0, 1)); }, {rnd({3, 2})});
    // A view of a view, then arithmetic: gradients travel back through both.
    check([](const V& v) { return F::mul(F::select(F::transpose(v[0], 0, 2), 0, 1), 2.0); }, {x});
}

TEST_CASE("gradcheck: concat, stack, split, chunk", "[autograd][gradcheck]") {
    const Tensor a = rnd({2, 3}, -1, 1, 1), b = rnd({2, 1}, -1, 1, 2), c = rnd({2, 4}, -1, 1, 3);
    check([](const V& v) { return F::concat({v[0], v[1], v[2]}, 1); }, {a, b, c});
    check([](const V& v) { return F::stack({v[0], v[1]}, 1); }, {a, rnd({2, 3}, -1, 1, 5)});
    check([](const V& v) {
        auto parts = F::split(v[0], 2, 1);  // sizes 2, 2, 1 over 5 columns
        return F::add(F::mul(parts[0], 3.0), parts[2]);  // parts[1] unused: its gradient is zero
    }, {rnd({3, 5})});
    check([](const V& v) {
        auto parts = F::chunk(v[0], 3, 0);
        return F::concat({parts[2], parts[0]}, 0);
    }, {rnd({6, 2})});
    // Only some inputs require grad.
    check([](const V& v) { return F::concat({v[0], v[1]}, 0); }, {a, rnd({1, 3})}, {1});
}

TEST_CASE("gradcheck: softmax and log_softmax", "[autograd][gradcheck]") {
    const Tensor x = rnd({2, 5, 3});
    for (int64_t dim : {0, 1, -1}) {
        INFO("dim " << dim);
        check([dim](const V& v) { return F::softmax(v[0], dim); }, {x});
        check([dim](const V& v) { return F::log_softmax(v[0], dim); }, {x});
    }
}

TEST_CASE("gradcheck: matmul with torch.matmul's shapes", "[autograd][gradcheck]") {
    check([](const V& v) { return F::matmul(v[0], v[1]); }, {rnd({3, 4}), rnd({4, 2})});
    check([](const V& v) { return F::matmul(v[0], v[1]); }, {rnd({2, 3, 4}), rnd({4, 5})});        // broadcast b
    check([](const V& v) { return F::matmul(v[0], v[1]); }, {rnd({3, 4}), rnd({2, 4, 5})});        // broadcast a
    check([](const V& v) { return F::matmul(v[0], v[1]); }, {rnd({2, 1, 3, 4}), rnd({3, 4, 2})});  // both
    check([](const V& v) { return F::matmul(v[0], v[1]); }, {rnd({4}), rnd({4, 3})});              // vec @ mat
    check([](const V& v) { return F::matmul(v[0], v[1]); }, {rnd({2, 3, 4}), rnd({4})});           // mat @ vec
    check([](const V& v) { return F::matmul(v[0], v[1]); }, {rnd({4}), rnd({4})});                 // dot
    check([](const V& v) { return F::matmul(v[0], v[1]); }, {rnd({4}), rnd({2, 4, 3})});           // vec @ batch
}

TEST_CASE("gradcheck: a small MLP end to end", "[autograd][gradcheck]") {
    // x (4, 3) -> linear 3->5 -> gelu -> linear 5->2 -> log_softmax -> mean
    check([](const V& v) {
        Variable h = F::add(F::matmul(v[0], F::transpose(v[1], 0, 1)), v[2]);
        h = F::gelu(h);
        Variable o = F::add(F::matmul(h, F::transpose(v[3], 0, 1)), v[4]);
        return F::mean(F::log_softmax(o, 1));
    }, {rnd({4, 3}, -1, 1, 1), rnd({5, 3}, -1, 1, 2), rnd({5}, -1, 1, 3), rnd({2, 5}, -1, 1, 4), rnd({2}, -1, 1, 5)});
}

TEST_CASE("gradcheck reports a wrong gradient", "[autograd][gradcheck]") {
    // A function whose backward disagrees with its forward: x -> detach(x)*x has derivative x,
    // not 2x; the check must fail and name the element.
    const GradcheckResult r = gradcheck([](const V& v) { return F::mul(v[0].detach(), v[0]); }, {rnd({3})});
    // d/dx (c * x) with c = x treated as a constant = c = x, while the numeric derivative is 2x.
    REQUIRE_FALSE(r.ok);
    REQUIRE(r.message.find("element") != std::string::npos);
}
