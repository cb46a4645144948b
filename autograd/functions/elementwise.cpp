// Differentiable elementwise ops (autograd/functions.h).
//
// Formulas (g = gradient of the output, broadcast gradients summed back with sum_to):
//   unary f(x)        dx = g * f'(x or y)          kernels/elementwise/unary_backward.h
//   a + alpha b       da = g                       db = alpha g
//   a - alpha b       da = g                       db = -alpha g
//   a * b             da = g b                     db = g a
//   a / b             da = g / b                   db = -g a / b^2
//   maximum(a, b)     da = g where a > b, g/2 where a == b; db likewise (PyTorch splits ties)
//   where(c, a, b)    da = g where c else 0        db = g where !c else 0
#include "autograd/autocast.h"
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary_backward.h"
#include "kernels/elementwise/where.h"
#include "kernels/reduce/reduce.h"

namespace segcore::autograd {

using kernels::UnaryOp;
using kernels::UnaryParams;

Tensor sum_to(const Tensor& g, const Shape& shape) {
    if (g.shape() == shape) return g;
    const int64_t lead = g.dim() - int64_t(shape.size());
    SEGCORE_CHECK(lead >= 0, "sum_to: cannot sum ", shape_str(g.shape()), " to the larger shape ", shape_str(shape));
    std::vector<int64_t> dims;
    for (int64_t d = 0; d < g.dim(); ++d)
        if (d < lead || (shape[size_t(d - lead)] == 1 && g.size(d) != 1)) dims.push_back(d);
    if (dims.empty()) return g.reshape(shape);
    return ops::sum(g, dims, /*keepdim=*/true).reshape(shape);
}

namespace {

struct UnaryBackward : Node {
    UnaryParams p;
    Tensor saved;  // x or y (kernels::unary_backward_uses_output)
    explicit UnaryBackward(UnaryParams params) : p(params) {}
    std::string name() const override {
        std::string n = kernels::unary_op_name(p.op);
        n[0] = char(std::toupper(n[0]));
        return n + "Backward";
    }
    tensor_list apply(tensor_list&& grads) override {
        if (p.op == UnaryOp::AddScalar) return {grads[0]};
        // Ops that save nothing (neg, mul/div by a scalar) do not read the second operand.
        return {ops::unary_backward(grads[0], saved.defined() ? saved : grads[0], p)};
    }
    void release_saved() override { saved = Tensor(); }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        return {{kernels::unary_backward_uses_output(p.op) ? "result" : "self", saved}};
    }
};

// Ops whose derivative needs nothing saved.
bool needs_saved(UnaryOp op) {
    return !(op == UnaryOp::Neg || op == UnaryOp::AddScalar || op == UnaryOp::MulScalar ||
             op == UnaryOp::DivScalar || op == UnaryOp::RSubScalar);
}

const char* autocast_name(UnaryOp op) {
    switch (op) {
        case UnaryOp::Exp:
            return "exp";
        case UnaryOp::Log:
            return "log";
        case UnaryOp::Pow:
            return "pow";
        case UnaryOp::Rsqrt:
            return "rsqrt";
        case UnaryOp::RDivScalar:
            return "rdiv";
        default:
            return "";
    }
}

struct BinaryBackward : Node {
    kernels::BinaryOp op;
    double alpha;
    Shape a_shape, b_shape;
    Tensor a, b;  // saved only for mul, div, maximum, minimum
    BinaryBackward(kernels::BinaryOp o, double al) : op(o), alpha(al) {}
    std::string name() const override {
        switch (op) {
            case kernels::BinaryOp::Add:
                return "AddBackward";
            case kernels::BinaryOp::Sub:
                return "SubBackward";
            case kernels::BinaryOp::Mul:
                return "MulBackward";
            case kernels::BinaryOp::Div:
                return "DivBackward";
            case kernels::BinaryOp::Maximum:
                return "MaximumBackward";
            case kernels::BinaryOp::Minimum:
                return "MinimumBackward";
        }
        return "BinaryBackward";
    }
    tensor_list apply(tensor_list&& grads) override {
        const Tensor& g = grads[0];
        Tensor ga, gb;
        using kernels::BinaryOp;
        switch (op) {
            case BinaryOp::Add:
            case BinaryOp::Sub:
                if (needs_input_grad(0)) ga = g;
                if (needs_input_grad(1)) gb = ops::mul(g, op == BinaryOp::Add ? alpha : -alpha);
                break;
            case BinaryOp::Mul:
                if (needs_input_grad(0)) ga = ops::mul(g, b);
                if (needs_input_grad(1)) gb = ops::mul(g, a);
                break;
            case BinaryOp::Div:
                if (needs_input_grad(0)) ga = ops::div(g, b);
                if (needs_input_grad(1)) gb = ops::neg(ops::div(ops::mul(g, a), ops::mul(b, b)));
                break;
            case BinaryOp::Maximum:
            case BinaryOp::Minimum: {
                const Tensor half = ops::mul(g, 0.5);
                const Tensor tie = ops::eq(a, b);
                const Tensor a_wins = op == BinaryOp::Maximum ? ops::gt(a, b) : ops::lt(a, b);
                const Tensor zero = zeros({}, {g.dtype(), g.device()});
                if (needs_input_grad(0)) ga = ops::where(tie, half, ops::where(a_wins, g, zero));
                if (needs_input_grad(1)) gb = ops::where(tie, half, ops::where(a_wins, zero, g));
                break;
            }
        }
        return {ga.defined() ? sum_to(ga, a_shape) : ga, gb.defined() ? sum_to(gb, b_shape) : gb};
    }
    void release_saved() override {
        a = Tensor();
        b = Tensor();
    }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        if (!a.defined()) return {};
        return {{"self", a}, {"other", b}};
    }
};

Variable binary(const char* name, kernels::BinaryOp op, const Variable& a_in, const Variable& b_in, double alpha) {
    const auto in = autocast_inputs(name, {a_in, b_in});
    const Variable &a = in[0], &b = in[1];
    Tensor y = ops::binary(a.data(), b.data(), kernels::BinaryParams{op, alpha});
    auto node = record<BinaryBackward>({&a, &b}, op, alpha);
    if (node) {
        node->a_shape = a.shape();
        node->b_shape = b.shape();
        using kernels::BinaryOp;
        if (op == BinaryOp::Mul || op == BinaryOp::Div || op == BinaryOp::Maximum || op == BinaryOp::Minimum) {
            node->a = a.data();
            node->b = b.data();
        }
    }
    return make_output(std::move(y), node);
}

struct WhereBackward : Node {
    Tensor cond;
    Shape a_shape, b_shape;
    std::string name() const override { return "WhereBackward"; }
    tensor_list apply(tensor_list&& grads) override {
        const Tensor& g = grads[0];
        const Tensor zero = zeros({}, {g.dtype(), g.device()});
        Tensor ga, gb;
        if (needs_input_grad(0)) ga = sum_to(ops::where(cond, g, zero), a_shape);
        if (needs_input_grad(1)) gb = sum_to(ops::where(cond, zero, g), b_shape);
        return {ga, gb};
    }
    void release_saved() override { cond = Tensor(); }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override { return {{"condition", cond}}; }
};

}  // namespace

Variable unary(const Variable& x_in, const UnaryParams& p) {
    const char* ac = autocast_name(p.op);
    const Variable x = *ac ? autocast_inputs(ac, {x_in})[0] : x_in;
    Tensor y = ops::unary(x.data(), p);
    auto node = record<UnaryBackward>({&x}, p);
    if (node && needs_saved(p.op)) node->saved = kernels::unary_backward_uses_output(p.op) ? y : x.data();
    return make_output(std::move(y), node);
}

namespace {
UnaryParams params(UnaryOp op, double a = 0, double b = 0) { return UnaryParams{op, a, b}; }
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

Variable neg(const Variable& x) { return unary(x, params(UnaryOp::Neg)); }
Variable abs(const Variable& x) { return unary(x, params(UnaryOp::Abs)); }
Variable exp(const Variable& x) { return unary(x, params(UnaryOp::Exp)); }
Variable log(const Variable& x) { return unary(x, params(UnaryOp::Log)); }
Variable sqrt(const Variable& x) { return unary(x, params(UnaryOp::Sqrt)); }
Variable rsqrt(const Variable& x) { return unary(x, params(UnaryOp::Rsqrt)); }
Variable sigmoid(const Variable& x) { return unary(x, params(UnaryOp::Sigmoid)); }
Variable tanh(const Variable& x) { return unary(x, params(UnaryOp::Tanh)); }
Variable relu(const Variable& x) { return unary(x, params(UnaryOp::Relu)); }
Variable relu6(const Variable& x) { return unary(x, params(UnaryOp::Relu6)); }
Variable leaky_relu(const Variable& x, double slope) { return unary(x, params(UnaryOp::LeakyRelu, slope)); }
Variable hardswish(const Variable& x) { return unary(x, params(UnaryOp::Hardswish)); }
Variable gelu(const Variable& x, bool tanh_approx) {
    return unary(x, params(tanh_approx ? UnaryOp::GeluTanh : UnaryOp::Gelu));
}
Variable clamp(const Variable& x, double min, double max) { return unary(x, params(UnaryOp::Clamp, min, max)); }
Variable clamp_min(const Variable& x, double min) { return unary(x, params(UnaryOp::Clamp, min, kInf)); }
Variable clamp_max(const Variable& x, double max) { return unary(x, params(UnaryOp::Clamp, -kInf, max)); }
Variable pow(const Variable& x, double e) { return unary(x, params(UnaryOp::Pow, e)); }
Variable square(const Variable& x) { return unary(x, params(UnaryOp::Square)); }

Variable add(const Variable& a, const Variable& b, double alpha) {
    return binary("add", kernels::BinaryOp::Add, a, b, alpha);
}
Variable sub(const Variable& a, const Variable& b, double alpha) {
    return binary("sub", kernels::BinaryOp::Sub, a, b, alpha);
}
Variable mul(const Variable& a, const Variable& b) { return binary("mul", kernels::BinaryOp::Mul, a, b, 1.0); }
Variable div(const Variable& a, const Variable& b) { return binary("div", kernels::BinaryOp::Div, a, b, 1.0); }
Variable maximum(const Variable& a, const Variable& b) {
    return binary("maximum", kernels::BinaryOp::Maximum, a, b, 1.0);
}
Variable minimum(const Variable& a, const Variable& b) {
    return binary("minimum", kernels::BinaryOp::Minimum, a, b, 1.0);
}
Variable add(const Variable& a, double s) { return unary(a, params(UnaryOp::AddScalar, s)); }
Variable sub(const Variable& a, double s) { return unary(a, params(UnaryOp::AddScalar, -s)); }
Variable mul(const Variable& a, double s) { return unary(a, params(UnaryOp::MulScalar, s)); }
Variable div(const Variable& a, double s) { return unary(a, params(UnaryOp::DivScalar, s)); }
Variable rsub(const Variable& a, double s) { return unary(a, params(UnaryOp::RSubScalar, s)); }
Variable rdiv(const Variable& a, double s) { return unary(a, params(UnaryOp::RDivScalar, s)); }

Variable where(const Tensor& cond, const Variable& a_in, const Variable& b_in) {
    const auto in = autocast_inputs("where", {a_in, b_in});
    const Variable &a = in[0], &b = in[1];
    Tensor y = ops::where(cond, a.data(), b.data());
    auto node = record<WhereBackward>({&a, &b});
    if (node) {
        node->cond = cond;
        node->a_shape = a.shape();
        node->b_shape = b.shape();
    }
    return make_output(std::move(y), node);
}

}  // namespace segcore::autograd
