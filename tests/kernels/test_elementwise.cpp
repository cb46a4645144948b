// Elementwise family on the CPU: every op against a naive loop in double, for f32, f64, f16 and
// bf16; broadcasting, 0-dim and empty tensors, non-contiguous inputs and in-place destinations,
// NaN/clamp edge cases, and the error messages.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/operators.h"
#include "kernels/elementwise/unary.h"
#include "kernels/elementwise/where.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::tolerance_for;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const test::Tolerance kExact{0, 0};

// The naive reference: f applied in double to every element of x (any layout, any dtype).
Tensor ref_unary(const Tensor& x, const std::function<double(double)>& f) {
    const Tensor xd = x.to(DType::F64).contiguous();
    Tensor out = empty(x.shape(), DType::F64);
    for (int64_t i = 0; i < x.numel(); ++i) out.data<double>()[i] = f(xd.data<double>()[i]);
    return out;
}

// f(a, b) in double over the broadcast shape (the expansion is done by core's copy).
Tensor ref_binary(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& f) {
    const Shape shape = broadcast_shapes(a.shape(), b.shape());
    const Tensor ad = a.expand(shape).to(DType::F64).contiguous(), bd = b.expand(shape).to(DType::F64).contiguous();
    Tensor out = empty(shape, DType::F64);
    for (int64_t i = 0; i < out.numel(); ++i) out.data<double>()[i] = f(ad.data<double>()[i], bd.data<double>()[i]);
    return out;
}

Tensor values(const std::vector<double>& v, DType t = DType::F32) {
    return from_vector<double>(v, {int64_t(v.size())}).to(t);
}

struct UnaryCase {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    std::function<Tensor&(Tensor&)> op_;  // in-place form, or empty
    std::function<double(double)> ref;
    double lo, hi;  // input range
};

double gelu_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_ref(double x) {
    return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}
double relu6_ref(double x) { return std::min(std::max(x, 0.0), 6.0); }

std::vector<UnaryCase> unary_cases() {
    return {
        {"neg", ops::neg, ops::neg_, [](double x) { return -x; }, -3, 3},
        {"abs", ops::abs, {}, [](double x) { return std::abs(x); }, -3, 3},
        {"exp", ops::exp, ops::exp_, [](double x) { return std::exp(x); }, -4, 4},
        {"log", ops::log, {}, [](double x) { return std::log(x); }, 0.05, 10},
        {"sqrt", ops::sqrt, ops::sqrt_, [](double x) { return std::sqrt(x); }, 0.0, 10},
        {"rsqrt", ops::rsqrt, {}, [](double x) { return 1.0 / std::sqrt(x); }, 0.05, 10},
        {"sigmoid", ops::sigmoid, ops::sigmoid_, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, -8, 8},
        {"tanh", ops::tanh, ops::tanh_, [](double x) { return std::tanh(x); }, -4, 4},
        {"relu", ops::relu, ops::relu_, [](double x) { return std::max(x, 0.0); }, -3, 3},
        {"relu6", ops::relu6, ops::relu6_, relu6_ref, -4, 10},
        {"leaky_relu", [](const Tensor& x) { return ops::leaky_relu(x, 0.2); },
         [](Tensor& x) -> Tensor& { return ops::leaky_relu_(x, 0.2); }, [](double x) { return x > 0 ? x : 0.2 * x; },
         -3, 3},
        {"hardswish", ops::hardswish, ops::hardswish_, [](double x) { return x * relu6_ref(x + 3) / 6; }, -5, 5},
        {"gelu", [](const Tensor& x) { return ops::gelu(x); }, [](Tensor& x) -> Tensor& { return ops::gelu_(x); },
         gelu_ref, -5, 5},
        {"gelu_tanh", [](const Tensor& x) { return ops::gelu(x, true); }, {}, gelu_tanh_ref, -5, 5},
        {"clamp", [](const Tensor& x) { return ops::clamp(x, -0.5, 0.75); },
         [](Tensor& x) -> Tensor& { return ops::clamp_(x, -0.5, 0.75); },
         [](double x) { return std::min(std::max(x, -0.5), 0.75); }, -2, 2},
        {"clamp_min",
         [](const Tensor& x) { return ops::clamp_min(x, 0.25); },
         {},
         [](double x) { return std::max(x, 0.25); },
         -2,
         2},
        {"clamp_max",
         [](const Tensor& x) { return ops::clamp_max(x, 0.25); },
         {},
         [](double x) { return std::min(x, 0.25); },
         -2,
         2},
        {"pow2", [](const Tensor& x) { return ops::pow(x, 2.0); }, {}, [](double x) { return x * x; }, -3, 3},
        {"pow3", [](const Tensor& x) { return ops::pow(x, 3.0); },
         [](Tensor& x) -> Tensor& { return ops::pow_(x, 3.0); }, [](double x) { return x * x * x; }, -3, 3},
        {"pow0.5", [](const Tensor& x) { return ops::pow(x, 0.5); }, {}, [](double x) { return std::sqrt(x); }, 0, 9},
        {"pow1.7",
         [](const Tensor& x) { return ops::pow(x, 1.7); },
         {},
         [](double x) { return std::pow(x, 1.7); },
         0.01,
         5},
        {"square", ops::square, {}, [](double x) { return x * x; }, -3, 3},
        {"add_scalar", [](const Tensor& x) { return ops::add(x, 2.5, 2.0); },
         [](Tensor& x) -> Tensor& { return ops::add_(x, 2.5, 2.0); }, [](double x) { return x + 5.0; }, -3, 3},
        {"sub_scalar", [](const Tensor& x) { return ops::sub(x, 1.5); },
         [](Tensor& x) -> Tensor& { return ops::sub_(x, 1.5); }, [](double x) { return x - 1.5; }, -3, 3},
        {"mul_scalar", [](const Tensor& x) { return ops::mul(x, 0.5); },
         [](Tensor& x) -> Tensor& { return ops::mul_(x, 0.5); }, [](double x) { return x * 0.5; }, -3, 3},
        {"div_scalar", [](const Tensor& x) { return ops::div(x, 4.0); },
         [](Tensor& x) -> Tensor& { return ops::div_(x, 4.0); }, [](double x) { return x / 4.0; }, -3, 3},
        {"rsub_scalar", [](const Tensor& x) { return ops::rsub(x, 1.0); }, {}, [](double x) { return 1.0 - x; }, -3, 3},
        {"rdiv_scalar",
         [](const Tensor& x) { return ops::rdiv(x, 2.0); },
         {},
         [](double x) { return 2.0 / x; },
         0.1,
         3},
        {"maximum_scalar",
         [](const Tensor& x) { return ops::maximum(x, 0.1); },
         {},
         [](double x) { return std::max(x, 0.1); },
         -3,
         3},
        {"minimum_scalar",
         [](const Tensor& x) { return ops::minimum(x, 0.1); },
         {},
         [](double x) { return std::min(x, 0.1); },
         -3,
         3},
    };
}

struct BinaryCase {
    const char* name;
    std::function<Tensor(const Tensor&, const Tensor&)> op;
    std::function<Tensor&(Tensor&, const Tensor&)> op_;
    std::function<double(double, double)> ref;
};

std::vector<BinaryCase> binary_cases() {
    return {
        {"add", [](const Tensor& a, const Tensor& b) { return ops::add(a, b); },
         [](Tensor& a, const Tensor& b) -> Tensor& { return ops::add_(a, b); },
         [](double a, double b) { return a + b; }},
        {"add_alpha", [](const Tensor& a, const Tensor& b) { return ops::add(a, b, -0.5); },
         [](Tensor& a, const Tensor& b) -> Tensor& { return ops::add_(a, b, -0.5); },
         [](double a, double b) { return a - 0.5 * b; }},
        {"sub", [](const Tensor& a, const Tensor& b) { return ops::sub(a, b); },
         [](Tensor& a, const Tensor& b) -> Tensor& { return ops::sub_(a, b); },
         [](double a, double b) { return a - b; }},
        {"sub_alpha", [](const Tensor& a, const Tensor& b) { return ops::sub(a, b, 2.0); },
         [](Tensor& a, const Tensor& b) -> Tensor& { return ops::sub_(a, b, 2.0); },
         [](double a, double b) { return a - 2.0 * b; }},
        {"mul", [](const Tensor& a, const Tensor& b) { return ops::mul(a, b); },
         [](Tensor& a, const Tensor& b) -> Tensor& { return ops::mul_(a, b); },
         [](double a, double b) { return a * b; }},
        {"div", [](const Tensor& a, const Tensor& b) { return ops::div(a, b); },
         [](Tensor& a, const Tensor& b) -> Tensor& { return ops::div_(a, b); },
         [](double a, double b) { return a / b; }},
        {"maximum", [](const Tensor& a, const Tensor& b) { return ops::maximum(a, b); }, ops::maximum_,
         [](double a, double b) { return std::max(a, b); }},
        {"minimum", [](const Tensor& a, const Tensor& b) { return ops::minimum(a, b); }, ops::minimum_,
         [](double a, double b) { return std::min(a, b); }},
    };
}

}  // namespace

TEST_CASE("unary ops match a naive double loop on every CPU dtype", "[elementwise][unary]") {
    const DType t = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16);
    const auto tol = tolerance_for(t);
    for (const UnaryCase& c : unary_cases()) {
        INFO(c.name << " " << dtype_name(t));
        // Big enough to split across threads; odd sizes so vector loops have tails.
        for (const Shape& shape : {Shape{17, 34}, Shape{3, 50001}, Shape{}}) {
            const Tensor x = test::random_tensor(shape, t, c.lo, c.hi, 7);
            const Tensor y = c.op(x);
            REQUIRE(y.dtype() == t);
            REQUIRE(y.shape() == shape);
            REQUIRE_CLOSE(y, ref_unary(x, c.ref), tol);
        }
        // Non-contiguous views: a transpose, a stepped slice and an expanded (stride-0) row.
        const Tensor base = test::random_tensor({9, 14}, t, c.lo, c.hi, 11);
        for (const Tensor& x : {base.t(), base.slice(1, 1, 14, 3), base.narrow(0, 2, 1).expand({5, 14})}) {
            REQUIRE_CLOSE(c.op(x), ref_unary(x, c.ref), tol);
        }
        if (c.op_) {
            // In place on a transposed, stepped view: the view changes, the rest of base does not.
            Tensor storage = test::random_tensor({8, 12}, t, c.lo, c.hi, 13);
            const Tensor before = storage.clone();
            Tensor view = storage.slice(1, 0, 12, 2).t();  // (6, 8), strides (2, 12)
            const Tensor expected = ref_unary(view, c.ref);
            Tensor& r = c.op_(view);
            REQUIRE(&r == &view);
            REQUIRE_CLOSE(view, expected, tol);
            REQUIRE_CLOSE(storage.slice(1, 1, 12, 2), before.slice(1, 1, 12, 2), kExact);
        }
    }
}

TEST_CASE("binary ops match a naive double loop with broadcasting", "[elementwise][binary]") {
    const DType t = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16);
    const auto tol = tolerance_for(t);
    struct Pair {
        Shape a, b;
    };
    const std::vector<Pair> pairs = {
        {{17, 34}, {17, 34}},
        {{3, 1, 5}, {1, 4, 1}},
        {{2, 3, 5, 7}, {3, 1, 1}},
        {{2, 3, 5, 7}, {7}},
        {{}, {4, 6}},
        {{4, 6}, {}},
        {{}, {}},
        {{1}, {2, 1, 3}},
        {{0, 3}, {1, 3}},
        {{3, 40000}, {3, 1}},
        {{2, 70000}, {2, 70000}},
        {{1, 13, 1, 31}, {5, 1, 7, 1}},
    };
    for (const BinaryCase& c : binary_cases()) {
        for (const Pair& p : pairs) {
            INFO(c.name << " " << dtype_name(t) << " " << shape_str(p.a) << " , " << shape_str(p.b));
            const Tensor a = test::random_tensor(p.a, t, -3, 3, 1);
            // div: keep the divisor away from 0 so f16 rounding of tiny divisors stays in tolerance.
            Tensor b = test::random_tensor(p.b, t, 0.5, 3, 2);
            if (std::string(c.name) != "div") b = test::random_tensor(p.b, t, -3, 3, 2);
            const Tensor out = c.op(a, b);
            REQUIRE(out.shape() == broadcast_shapes(p.a, p.b));
            REQUIRE(out.dtype() == t);
            REQUIRE_CLOSE(out, ref_binary(a, b, c.ref), tol);
        }
        // Non-contiguous operands: a transposed a, a stepped-slice b.
        const Tensor a = test::random_tensor({11, 6}, t, -3, 3, 3).t();
        const Tensor b = test::random_tensor({6, 22}, t, 0.5, 3, 4).slice(1, 0, 22, 2);
        INFO(c.name << " " << dtype_name(t) << " non-contiguous");
        REQUIRE_CLOSE(c.op(a, b), ref_binary(a, b, c.ref), tol);
        REQUIRE_CLOSE(c.op(b, a.expand({6, 11})), ref_binary(b, a, c.ref), tol);
    }
}

TEST_CASE("in-place binary ops write a non-contiguous destination and broadcast the source",
          "[elementwise][binary][inplace]") {
    const DType t = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16);
    for (const BinaryCase& c : binary_cases()) {
        INFO(c.name << " " << dtype_name(t));
        Tensor storage = test::random_tensor({10, 9}, t, -3, 3, 5);
        const Tensor before = storage.clone();
        Tensor dst = storage.slice(0, 0, 10, 2).t();  // (9, 5), strides (1, 18)
        const Tensor src = test::random_tensor({1, 5}, t, 0.5, 3, 6);
        const Tensor expected = ref_binary(dst, src, c.ref);
        Tensor& r = c.op_(dst, src);
        REQUIRE(&r == &dst);
        REQUIRE_CLOSE(dst, expected, tolerance_for(t));
        REQUIRE_CLOSE(storage.slice(0, 1, 10, 2), before.slice(0, 1, 10, 2), kExact);

        // The in-place destination cannot be broadcast (PyTorch's rule).
        Tensor small = test::random_tensor({3, 1}, t, -1, 1, 7);
        REQUIRE_THROWS_WITH(c.op_(small, test::random_tensor({3, 4}, t, -1, 1, 8)), Catch::Contains("in-place destination"));
    }
    // a += a: out aliases both inputs exactly.
    Tensor x = test::random_tensor({5, 7}, DType::F32, -1, 1, 9);
    const Tensor twice = ref_unary(x, [](double v) { return 2 * v; });
    ops::add_(x, x);
    REQUIRE_CLOSE(x, twice, tolerance_for(DType::F32));
}

TEST_CASE("comparisons produce bool, on float and integer dtypes", "[elementwise][compare]") {
    const DType t = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8);
    // Small integers so equality is frequent, representable in every dtype.
    const Tensor a = test::random_tensor({3, 1, 5}, DType::F64, 0, 4, 1).to(DType::I64).to(t);
    const Tensor b = test::random_tensor({1, 4, 1}, DType::F64, 0, 4, 2).to(DType::I64).to(t);
    const auto b2d = [](bool v) { return v ? 1.0 : 0.0; };
    struct C {
        Tensor (*op)(const Tensor&, const Tensor&);
        Tensor (*op_s)(const Tensor&, double);
        std::function<bool(double, double)> ref;
    };
    const std::vector<C> cases = {
        {ops::eq, ops::eq, std::equal_to<double>()}, {ops::ne, ops::ne, std::not_equal_to<double>()},
        {ops::lt, ops::lt, std::less<double>()},     {ops::le, ops::le, std::less_equal<double>()},
        {ops::gt, ops::gt, std::greater<double>()},  {ops::ge, ops::ge, std::greater_equal<double>()},
    };
    for (const C& c : cases) {
        const Tensor out = c.op(a, b);
        REQUIRE(out.dtype() == DType::Bool);
        REQUIRE(out.shape() == Shape{3, 4, 5});
        REQUIRE_CLOSE(out, ref_binary(a, b, [&](double x, double y) { return b2d(c.ref(x, y)); }), kExact);
        const Tensor os = c.op_s(a.t(), 2.0);  // scalar form on a non-contiguous view
        REQUIRE_CLOSE(os, ref_unary(a.t(), [&](double x) { return b2d(c.ref(x, 2.0)); }), kExact);
    }
    // NaN compares unequal to everything, itself included.
    const Tensor n = values({kNaN, 1.0});
    REQUIRE_CLOSE(ops::eq(n, n), values({0, 1}, DType::Bool), kExact);
    REQUIRE_CLOSE(ops::ne(n, n), values({1, 0}, DType::Bool), kExact);
}

TEST_CASE("integer tensors vs scalars: PyTorch's promoted answer, scalar never truncated", "[elementwise][compare]") {
    // Brute force: compare every element in double, as PyTorch's promotion to float does.
    const auto check = [](const Tensor& x, double s) {
        const struct {
            const char* name;
            Tensor (*op)(const Tensor&, double);
            bool (*ref)(double, double);
        } cases[] = {
            {"eq", ops::eq, [](double a, double b) { return a == b; }},
            {"ne", ops::ne, [](double a, double b) { return a != b; }},
            {"lt", ops::lt, [](double a, double b) { return a < b; }},
            {"le", ops::le, [](double a, double b) { return a <= b; }},
            {"gt", ops::gt, [](double a, double b) { return a > b; }},
            {"ge", ops::ge, [](double a, double b) { return a >= b; }},
        };
        for (const auto& c : cases) {
            const Tensor out = c.op(x, s);
            REQUIRE(out.dtype() == DType::Bool);
            REQUIRE(out.shape() == x.shape());
            for (int64_t i = 0; i < x.numel(); ++i) {
                INFO(c.name << "(" << dtype_name(x.dtype()) << " " << x.get_double(i) << ", " << s << ")");
                REQUIRE((out.get_double(i) != 0) == c.ref(x.get_double(i), s));
            }
        }
    };
    const Tensor u8 = from_vector<uint8_t>({0, 1, 2, 3, 254, 255}, {2, 3});
    const Tensor i32 = from_vector<int32_t>({-2147483647 - 1, -3, 2, 3, 7, 2147483647}, {6});
    const Tensor i64 = from_vector<int64_t>({-5, -1, 0, 2, 3, 255}, {3, 2}).t();  // non-contiguous
    for (double s : {2.0, 2.5, -2.5, 2.9999, 255.0, 255.5, 256.0, 300.0, -1.0, -0.5, 0.0, 1e20, -1e20,
                     std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
        check(u8, s);
        check(i32, s);
        check(i64, s);
    }
    check(i32, 2147483647.5);
    check(i32, -2147483648.5);
}

TEST_CASE("where selects with three-way broadcasting", "[elementwise][where]") {
    const DType t = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64, DType::U8);
    const Tensor cond = ops::gt(test::random_tensor({3, 1, 5}, DType::F32, -1, 1, 1), 0.0);
    const Tensor a = test::random_tensor({1, 4, 1}, DType::F64, 0, 100, 2).to(DType::I64).to(t);
    const Tensor b = test::random_tensor({4, 5}, DType::F64, 0, 100, 3).to(DType::I64).to(t);
    const Shape shape{3, 4, 5};
    const Tensor cd = cond.expand(shape).to(DType::F64).contiguous();
    const Tensor ad = a.expand(shape).to(DType::F64).contiguous(), bd = b.expand(shape).to(DType::F64).contiguous();
    Tensor expected = empty(shape, DType::F64);
    for (int64_t i = 0; i < expected.numel(); ++i)
        expected.data<double>()[i] = cd.data<double>()[i] != 0 ? ad.data<double>()[i] : bd.data<double>()[i];
    const Tensor out = ops::where(cond, a, b);
    REQUIRE(out.dtype() == t);
    REQUIRE(out.shape() == shape);
    REQUIRE_CLOSE(out, expected, kExact);

    // Scalar operands and a non-contiguous condition; contiguous same-shape fast path.
    const Tensor ct = cond.expand(shape).transpose(0, 2);  // (5, 4, 3)
    const Tensor bt = b.t().unsqueeze(2).expand({5, 4, 3});
    const Tensor s = ops::where(ct, 7.0, bt);
    const Tensor ctd = ct.to(DType::F64).contiguous(), btd = bt.to(DType::F64).contiguous();
    Tensor es = empty({5, 4, 3}, DType::F64);
    for (int64_t i = 0; i < es.numel(); ++i)
        es.data<double>()[i] = ctd.data<double>()[i] != 0 ? 7.0 : btd.data<double>()[i];
    REQUIRE_CLOSE(s, es, kExact);
    const Tensor c2 = ct.contiguous(), b2 = bt.contiguous();
    REQUIRE_CLOSE(ops::where(c2, b2, 0.0), ops::where(ct, bt, 0.0), kExact);
}

TEST_CASE("elementwise edge cases follow PyTorch", "[elementwise][edge]") {
    const DType t = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16);
    INFO(dtype_name(t));
    // maximum / minimum propagate NaN from either side.
    const Tensor a = values({kNaN, 1.0, 2.0, kNaN, -1.0}, t);
    const Tensor b = values({1.0, kNaN, 3.0, kNaN, -2.0}, t);
    REQUIRE_CLOSE(ops::maximum(a, b), values({kNaN, kNaN, 3.0, kNaN, -1.0}), kExact);
    REQUIRE_CLOSE(ops::minimum(a, b), values({kNaN, kNaN, 2.0, kNaN, -2.0}), kExact);
    // relu6 clamps both ends; relu, relu6, clamp and hardswish keep NaN.
    const Tensor x = values({-3.0, 0.0, 3.0, 6.0, 9.0, kNaN}, t);
    REQUIRE_CLOSE(ops::relu6(x), values({0, 0, 3, 6, 6, kNaN}), kExact);
    REQUIRE_CLOSE(ops::relu(x), values({0, 0, 3, 6, 9, kNaN}), kExact);
    REQUIRE_CLOSE(ops::clamp(x, -1, 4), values({-1, 0, 3, 4, 4, kNaN}), kExact);
    REQUIRE_CLOSE(ops::hardswish(x), values({0, 0, 3, 6, 9, kNaN}), kExact);
    // clamp with min > max gives max everywhere.
    REQUIRE_CLOSE(ops::clamp(values({-5, 0, 0.5, 5}, t), 1.0, -1.0), values({-1, -1, -1, -1}), kExact);
    // Division by zero and log of zero and negatives follow IEEE.
    REQUIRE_CLOSE(ops::div(values({1, -1, 0}, t), values({0, 0, 0}, t)),
                  values({std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(), kNaN}),
                  kExact);
    REQUIRE_CLOSE(ops::log(values({0, -1}, t)), values({-std::numeric_limits<double>::infinity(), kNaN}), kExact);
    // exp overflows to inf in the storage type.
    if (t == DType::F16)
        REQUIRE_CLOSE(ops::exp(values({12.0}, t)), values({std::numeric_limits<double>::infinity()}), kExact);
    // Storage round trips are exact, subnormals and the largest finite values included (f16 goes
    // through F16C on x86-64-v3, which must round exactly like Half's bit arithmetic).
    const Tensor r =
        values({1e-7, -3e-6, 6e-5, 65504.0, -1e30, 1e-40, 0.1, std::numeric_limits<double>::infinity()}, t);
    REQUIRE_CLOSE(ops::mul(r, 1.0), r, kExact);
    REQUIRE_CLOSE(ops::add(r, zeros({8}, t)), r, kExact);
    REQUIRE_CLOSE(ops::mul(values({0.1, 1.0 / 3.0, 1e-7}, DType::F32), 1.0).to(t),
                  ops::mul(values({0.1, 1.0 / 3.0, 1e-7}, DType::F32).to(t), 1.0), kExact);
    // Results of 0-dim inputs are 0-dim.
    const Tensor s = full({}, 2.0, t);
    REQUIRE(ops::add(s, s).shape() == Shape{});
    REQUIRE(ops::add(s, s).item_double() == 4.0);
    REQUIRE(ops::exp(s).shape() == Shape{});
    // Empty tensors: no work, right shape.
    REQUIRE(ops::relu(empty({0, 5}, t)).shape() == Shape{0, 5});
}

TEST_CASE("operator overloads are the ops", "[elementwise][operators]") {
    const Tensor a = test::random_tensor({4, 5}, DType::F32, -2, 2, 1);
    const Tensor b = test::random_tensor({5}, DType::F32, 0.5, 2, 2);
    const auto tol = tolerance_for(DType::F32);
    REQUIRE_CLOSE(-a, ops::neg(a), kExact);
    REQUIRE_CLOSE(a + b, ops::add(a, b), kExact);
    REQUIRE_CLOSE(a - b, ops::sub(a, b), kExact);
    REQUIRE_CLOSE(a * b, ops::mul(a, b), kExact);
    REQUIRE_CLOSE(a / b, ops::div(a, b), kExact);
    REQUIRE_CLOSE(2.0 * a + 1.0, ref_unary(a, [](double v) { return 2 * v + 1; }), tol);
    REQUIRE_CLOSE(1.0 - a / 2.0, ref_unary(a, [](double v) { return 1 - v / 2; }), tol);
    REQUIRE_CLOSE(1.0 / b, ref_unary(b, [](double v) { return 1 / v; }), tol);
    Tensor c = a.clone();
    c += b;
    c *= 2.0;
    c -= a;
    REQUIRE_CLOSE(c, ref_binary(a, b, [](double x, double y) { return 2 * (x + y) - x; }), tol);
}

TEST_CASE("elementwise ops reject bad arguments with clear messages", "[elementwise][errors]") {
    const Tensor a = zeros({2, 3});
    using Catch::Contains;
    REQUIRE_THROWS_AS(ops::add(a, zeros({4})), Error);
    REQUIRE_THROWS_WITH(ops::add(a, zeros({4})),
                        Contains("add") && Contains("cannot be broadcast") && Contains("(2, 3)") && Contains("(4,)"));
    REQUIRE_THROWS_WITH(ops::mul(a, zeros({2, 3}, DType::F16)),
                        Contains("mul") && Contains("f32") && Contains("f16") && Contains("no type promotion"));
    REQUIRE_THROWS_WITH(ops::eq(a, zeros({2, 3}, DType::I64)), Contains("eq") && Contains("i64"));
    REQUIRE_THROWS_WITH(ops::add(zeros({2}, DType::I64), zeros({2}, DType::I64)),
                        Contains("add") && Contains("floating-point") && Contains("i64"));
    REQUIRE_THROWS_WITH(ops::relu(zeros({2}, DType::I32)), Contains("relu") && Contains("i32"));
    REQUIRE_THROWS_WITH(ops::where(zeros({2, 3}), a, a), Contains("where") && Contains("bool"));
    REQUIRE_THROWS_WITH(ops::where(ops::gt(a, 0.0), a, zeros({2, 3}, DType::F64)),
                        Contains("where") && Contains("f32") && Contains("f64"));
    REQUIRE_THROWS_WITH(ops::where(ops::gt(a, 0.0), a, zeros({5})),
                        Contains("where") && Contains("cannot be broadcast"));
    REQUIRE_THROWS_WITH(ops::add(a, Tensor()), Contains("add") && Contains("undefined"));
    Tensor dst = zeros({3});
    REQUIRE_THROWS_WITH(ops::add_(dst, zeros({2, 3})), Contains("add") && Contains("in-place destination"));
}

TEST_CASE("outputs past the cache take the streaming-store path and stay exact", "[elementwise][large]") {
    // 4.4 M elements: above the 16 MiB streaming threshold in f32 and f64, with ragged chunk ends.
    const DType t = GENERATE(DType::F32, DType::F64, DType::BF16);
    const Tensor a = test::random_tensor({4400003}, t, -3, 3, 1), b = test::random_tensor({4400003}, t, -3, 3, 2);
    REQUIRE_CLOSE(ops::add(a, b, 0.5), ref_binary(a, b, [](double x, double y) { return x + 0.5 * y; }),
                  tolerance_for(t));
    REQUIRE_CLOSE(ops::relu(a), ref_unary(a, [](double x) { return std::max(x, 0.0); }), kExact);
    REQUIRE_CLOSE(ops::gt(a, b), ref_binary(a, b, [](double x, double y) { return x > y ? 1.0 : 0.0; }), kExact);
    // Unaligned output start: a view one element into a fresh tensor's storage is not possible for
    // ops:: outputs, so exercise it through the kernel directly.
    Tensor out = empty({4400004}, t);
    Tensor view = out.narrow(0, 1, 4400003);
    const auto g = make_geometry<2>(view.shape(), {&view.strides(), &a.strides()});
    visit_float_dtype(t, "test", [&](auto tag) {
        using T = typename decltype(tag)::type;
        kernels::unary_cpu<T>({kernels::UnaryOp::Neg}, g, view.data<T>(), a.data<T>());
    });
    REQUIRE_CLOSE(view, ref_unary(a, [](double x) { return -x; }), kExact);
}
