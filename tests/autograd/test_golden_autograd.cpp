// Golden parity of gradients with PyTorch: tests/golden/autograd_grads.safetensors, written by
// tests/golden/make_autograd_golden.py (see there for the cases). Tolerances: f64 1e-10
// relative (the same formulas, different summation order); f32 the usual f32 tolerance
// (tolerance_for), loosened 4x for the MLP (two GEMMs and a softmax deep).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "core/safetensors.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;
using json = nlohmann::json;

namespace {

struct Golden {
    SafetensorsFile file;
    json cases;
};

const Golden& golden() {
    static const Golden g = [] {
        Golden out;
        out.file = load_safetensors(test::golden_dir() + "/autograd_grads.safetensors");
        out.cases = json::parse(out.file.metadata.at("cases"));
        return out;
    }();
    return g;
}

Tensor in(const json& c, const char* name) { return golden().file.at(c["in"][name].get<std::string>()); }
Tensor out(const json& c, const char* name) { return golden().file.at(c["out"][name].get<std::string>()); }

test::Tolerance tol(const json& c, double f32_scale = 1.0) {
    if (c["dtype"] == "f64") return {1e-12, 1e-10};
    const test::Tolerance t = test::tolerance_for(DType::F32);
    return {t.atol * f32_scale, t.rtol * f32_scale};
}

std::vector<int64_t> dims_of(const json& p) { return p["dims"].get<std::vector<int64_t>>(); }

Variable unary_op(const std::string& op, const json& p, const Variable& x) {
    if (op == "relu") return F::relu(x);
    if (op == "relu6") return F::relu6(x);
    if (op == "leaky_relu") return F::leaky_relu(x, p["negative_slope"].get<double>());
    if (op == "abs") return F::abs(x);
    if (op == "neg") return F::neg(x);
    if (op == "hardswish") return F::hardswish(x);
    if (op == "gelu") return F::gelu(x, p["approximate"] == "tanh");
    if (op == "sigmoid") return F::sigmoid(x);
    if (op == "tanh") return F::tanh(x);
    if (op == "exp") return F::exp(x);
    if (op == "square") return F::square(x);
    if (op == "clamp") return F::clamp(x, p["min"].get<double>(), p["max"].get<double>());
    if (op == "pow") return F::pow(x, p["exponent"].get<double>());
    if (op == "log") return F::log(x);
    if (op == "sqrt") return F::sqrt(x);
    if (op == "rsqrt") return F::rsqrt(x);
    FAIL("unknown unary op in the fixture: " << op);
    return x;
}

}  // namespace

TEST_CASE("golden: gradients match PyTorch", "[autograd][golden]") {
    int checked = 0;
    for (const json& c : golden().cases) {
        const std::string op = c["op"];
        const json& p = c["params"];
        INFO(c.dump());
        if (op == "mlp") {
            Variable x(in(c, "x"), true), w1(in(c, "w1"), true), b1(in(c, "b1"), true), w2(in(c, "w2"), true),
                b2(in(c, "b2"), true);
            Variable h = F::add(F::matmul(x, F::transpose(w1, 0, 1)), b1);
            h = p["activation"] == "gelu" ? F::gelu(h) : F::tanh(h);
            const Variable logits = F::add(F::matmul(h, F::transpose(w2, 0, 1)), b2);
            const Variable loss =
                F::neg(F::mean(F::sum(F::mul(F::log_softmax(logits, 1), Variable(in(c, "onehot"))), {1})));
            loss.backward();
            REQUIRE_CLOSE(loss.data(), out(c, "loss"), tol(c, 4));
            REQUIRE_CLOSE(x.grad(), out(c, "gx"), tol(c, 4));
            REQUIRE_CLOSE(w1.grad(), out(c, "gw1"), tol(c, 4));
            REQUIRE_CLOSE(b1.grad(), out(c, "gb1"), tol(c, 4));
            REQUIRE_CLOSE(w2.grad(), out(c, "gw2"), tol(c, 4));
            REQUIRE_CLOSE(b2.grad(), out(c, "gb2"), tol(c, 4));
        } else if (op.rfind("unary.", 0) == 0) {
            Variable x(in(c, "x"), true);
            unary_op(op.substr(6), p, x).backward(in(c, "dy"));
            REQUIRE_CLOSE(x.grad(), out(c, "dx"), tol(c));
        } else if (op.rfind("reduce.", 0) == 0) {
            Variable x(in(c, "x"), true);
            const std::string r = op.substr(7);
            const bool keep = p["keepdim"].get<bool>();
            Variable y;
            if (r == "max") y = F::max(x, dims_of(p), keep);
            if (r == "min") y = F::min(x, dims_of(p), keep);
            if (r == "mean") y = F::mean(x, dims_of(p), keep);
            if (r == "var") y = F::var(x, dims_of(p), p["correction"].get<int64_t>(), keep);
            if (r == "std") y = F::std(x, dims_of(p), p["correction"].get<int64_t>(), keep);
            REQUIRE(y.defined());
            y.backward(in(c, "dy"));
            REQUIRE_CLOSE(x.grad(), out(c, "dx"), tol(c));
        } else if (op.rfind("binary.", 0) == 0) {
            Variable a(in(c, "a"), true), b(in(c, "b"), true);
            const std::string r = op.substr(7);
            const Variable y = r == "maximum" ? F::maximum(a, b)
                               : r == "minimum" ? F::minimum(a, b)
                               : r == "mul"     ? F::mul(a, b)
                                                : F::div(a, b);
            y.backward(in(c, "dy"));
            REQUIRE_CLOSE(a.grad(), out(c, "da"), tol(c));
            REQUIRE_CLOSE(b.grad(), out(c, "db"), tol(c));
        } else if (op == "matmul") {
            Variable a(in(c, "a"), true), b(in(c, "b"), true);
            F::matmul(a, b).backward(in(c, "dy"));
            REQUIRE_CLOSE(a.grad(), out(c, "da"), tol(c));
            REQUIRE_CLOSE(b.grad(), out(c, "db"), tol(c));
        } else {
            FAIL("unknown op in the fixture: " << op);
        }
        ++checked;
    }
    REQUIRE(checked == 70);
}
