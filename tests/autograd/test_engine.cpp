// The backward engine (autograd/engine.h): ordering, accumulation, graph release, grad modes,
// hooks, deep graphs, autograd::grad, and the errors a user can hit.
#include <catch2/catch.hpp>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;

namespace {
Variable leaf(std::vector<double> v, const Shape& s) { return Variable(from_vector<double>(v, s), true); }
double at(const Tensor& t, int64_t i) { return t.get_double(i); }
}  // namespace

TEST_CASE("a diamond graph sums the gradients of both paths", "[autograd][engine]") {
    Variable x = leaf({2.0}, {});
    Variable a = F::mul(x, 3.0);         // 3x
    Variable b = F::square(x);           // x^2
    Variable y = F::add(F::mul(a, b), a);  // 3x^3 + 3x -> dy/dx = 9x^2 + 3 = 39
    y.backward();
    REQUIRE(at(x.grad(), 0) == Approx(39.0));
    REQUIRE(y.grad_fn()->name() == "AddBackward");
    REQUIRE(x.is_leaf());
    REQUIRE_FALSE(y.is_leaf());
}

TEST_CASE("gradients accumulate across backward calls until zero_grad", "[autograd][engine]") {
    Variable x = leaf({1.0, 2.0}, {2});
    F::sum(F::mul(x, x)).backward();
    F::sum(F::mul(x, 3.0)).backward();
    REQUIRE(at(x.grad(), 0) == Approx(2 + 3));
    REQUIRE(at(x.grad(), 1) == Approx(4 + 3));
    const void* storage = x.grad().data_ptr();
    F::sum(x).backward();  // accumulated in place: the same tensor (optimisers may hold it)
    REQUIRE(x.grad().data_ptr() == storage);
    x.zero_grad();
    REQUIRE_FALSE(x.grad().defined());
    F::sum(x).backward();
    REQUIRE(at(x.grad(), 0) == 1.0);
    x.zero_grad(/*set_to_none=*/false);
    REQUIRE(at(x.grad(), 0) == 0.0);
}

TEST_CASE("a gradient from an expanded view is not kept as a view", "[autograd][engine]") {
    // sum's gradient is a stride-0 expand; the leaf must get its own dense tensor, or a later
    // in-place accumulation would write one element many times.
    Variable x = leaf({1, 2, 3}, {3});
    F::sum(x).backward();
    REQUIRE(x.grad().is_contiguous());
    F::sum(x).backward();
    REQUIRE(at(x.grad(), 0) == 2.0);
    REQUIRE(at(x.grad(), 2) == 2.0);
}

TEST_CASE("saved tensors are freed after backward unless retain_graph", "[autograd][engine]") {
    Variable x = leaf({1.0, 2.0}, {2});
    Variable y = F::sum(F::exp(x));
    y.backward(Tensor(), /*retain_graph=*/true);
    y.backward();  // the second pass is allowed and accumulates
    REQUIRE(at(x.grad(), 0) == Approx(2 * std::exp(1.0)));
    try {
        y.backward();
        FAIL("a third backward through a released graph must throw");
    } catch (const Error& e) {
        REQUIRE(std::string(e.what()).find("retain_graph") != std::string::npos);
    }
}

TEST_CASE("no_grad and inference mode record nothing", "[autograd][engine]") {
    Variable x = leaf({1.0}, {});
    {
        NoGradGuard g;
        Variable y = F::mul(x, 2.0);
        REQUIRE_FALSE(y.requires_grad());
        REQUIRE(y.grad_fn() == nullptr);
        {
            EnableGradGuard e;
            REQUIRE(F::mul(x, 2.0).requires_grad());
        }
    }
    REQUIRE(grad_enabled());
    {
        InferenceModeGuard g;
        REQUIRE(inference_mode());
        Variable y = F::mul(x, 2.0);
        REQUIRE_FALSE(y.requires_grad());
        Variable made(zeros({2}));
        REQUIRE_THROWS_WITH(made.set_requires_grad(true), Catch::Contains("InferenceModeGuard"));
    }
    REQUIRE_FALSE(inference_mode());
    // Constants do not require grad and stop the gradient.
    Variable c(from_vector<double>({5.0}, {}));
    Variable y = F::mul(x, c);
    y.backward();
    REQUIRE(at(x.grad(), 0) == 5.0);
    REQUIRE_FALSE(c.grad().defined());
}

TEST_CASE("backward errors say what is wrong", "[autograd][engine]") {
    Variable c(from_vector<double>({1.0, 2.0}, {2}));
    REQUIRE_THROWS_WITH(F::sum(c).backward(), Catch::Contains("does not require grad"));
    Variable x = leaf({1.0, 2.0}, {2});
    REQUIRE_THROWS_WITH(F::mul(x, 2.0).backward(), Catch::Contains("only for a scalar output"));
    REQUIRE_THROWS_WITH(F::mul(x, 2.0).backward(zeros({3}, {DType::F64})), Catch::Contains("gradient for output"));
    Variable i(from_vector<int64_t>({1}, {1}));
    REQUIRE_THROWS_WITH(i.set_requires_grad(true), Catch::Contains("floating"));
    REQUIRE_THROWS_WITH(F::mul(x, 2.0).set_requires_grad(false), Catch::Contains("only leaves"));
}

TEST_CASE("hooks: leaf hooks change the gradient, post-accumulate hooks see it", "[autograd][engine]") {
    Variable x = leaf({1.0, 2.0}, {2});
    x.register_hook([](const Tensor& g) { return ops::mul(g, 10.0); });
    int calls = 0;
    double seen = 0;
    x.register_post_accumulate_grad_hook([&](Variable& v) {
        ++calls;
        seen = v.grad().get_double(1);
    });
    // x is used twice; its accumulator runs once, after both contributions are summed.
    F::sum(F::add(x, F::mul(x, 2.0))).backward();
    REQUIRE(calls == 1);
    REQUIRE(seen == Approx(30.0));
    REQUIRE(at(x.grad(), 0) == Approx(30.0));
}

TEST_CASE("hooks on non-leaves and retain_grad", "[autograd][engine]") {
    Variable x = leaf({1.0, 2.0}, {2});
    Variable h = F::mul(x, 3.0);
    h.retain_grad();
    Variable h2 = F::mul(x, 1.0);
    h2.register_hook([](const Tensor& g) { return ops::mul(g, 0.0); });  // blocks this path
    F::sum(F::add(F::square(h), h2)).backward();
    // d/dh sum(h^2) = 2h = 6x
    REQUIRE(at(h.grad(), 1) == Approx(12.0));
    REQUIRE(at(x.grad(), 1) == Approx(36.0));  // through h only: 3 * 2h
}

TEST_CASE("a 100000-op chain runs backward and is freed without recursion", "[autograd][engine]") {
    Variable x = leaf({1.0}, {});
    Variable y = x;
    for (int i = 0; i < 100000; ++i) y = F::add(y, 1e-6);
    y.backward();
    REQUIRE(at(x.grad(), 0) == 1.0);
    y = Variable();  // destroying the chain must not overflow the stack
    SUCCEED();
}

TEST_CASE("autograd::grad returns gradients without touching .grad()", "[autograd][engine]") {
    Variable x = leaf({3.0}, {});
    Variable h = F::square(x);
    Variable y = F::mul(h, 2.0);
    const auto gs = F::grad({y}, {x, h});
    REQUIRE(at(gs[0], 0) == Approx(12.0));
    REQUIRE(at(gs[1], 0) == Approx(2.0));
    REQUIRE_FALSE(x.grad().defined());
}

TEST_CASE("several roots backpropagate together", "[autograd][engine]") {
    Variable x = leaf({2.0}, {});
    Variable a = F::square(x), b = F::mul(x, 5.0);
    run_backward({a, b}, {Tensor(), Tensor()}, false);
    REQUIRE(at(x.grad(), 0) == Approx(4.0 + 5.0));
}

TEST_CASE("split outputs that receive no gradient count as zeros", "[autograd][engine]") {
    Variable x = leaf({1, 2, 3, 4}, {4});
    auto parts = F::split(x, 2);
    F::sum(F::mul(parts[1], 2.0)).backward();
    REQUIRE(at(x.grad(), 0) == 0.0);
    REQUIRE(at(x.grad(), 3) == 2.0);
}
