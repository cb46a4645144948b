// Elementwise family on CUDA against the CPU oracle: every op, every CUDA dtype, odd shapes,
// broadcasting, non-contiguous and unaligned views, in-place destinations. Kernels are first
// called directly on poisoned outputs, so an element a kernel forgets to write shows up as NaN.
#include <catch2/catch.hpp>

#include <random>

#include "core/stream.h"
#include "kernels/common/dispatch.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"
#include "kernels/elementwise/where.h"
#include "tests/test_util.h"

using namespace segcore;
using kernels::BinaryOp;
using kernels::CompareOp;
using kernels::UnaryOp;
using segcore::test::tolerance_for;

namespace {

const test::Tolerance kExact{0, 0};

struct UnaryCase {
    kernels::UnaryParams p;
    double lo, hi;
};

std::vector<UnaryCase> unary_cases() {
    return {{{UnaryOp::Neg}, -3, 3},
            {{UnaryOp::Abs}, -3, 3},
            {{UnaryOp::Exp}, -4, 4},
            {{UnaryOp::Log}, 0.05, 10},
            {{UnaryOp::Sqrt}, 0, 10},
            {{UnaryOp::Rsqrt}, 0.05, 10},
            {{UnaryOp::Sigmoid}, -8, 8},
            {{UnaryOp::Tanh}, -4, 4},
            {{UnaryOp::Relu}, -3, 3},
            {{UnaryOp::Relu6}, -4, 10},
            {{UnaryOp::LeakyRelu, 0.2}, -3, 3},
            {{UnaryOp::Hardswish}, -5, 5},
            {{UnaryOp::Gelu}, -5, 5},
            {{UnaryOp::GeluTanh}, -5, 5},
            {{UnaryOp::Clamp, -0.5, 0.75}, -2, 2},
            {{UnaryOp::Clamp, 1.0, -1.0}, -2, 2},
            {{UnaryOp::Pow, 2.0}, -3, 3},
            {{UnaryOp::Pow, 3.0}, -3, 3},
            {{UnaryOp::Pow, 0.5}, 0, 9},
            {{UnaryOp::Pow, 1.7}, 0.01, 5},
            {{UnaryOp::Square}, -3, 3},
            {{UnaryOp::AddScalar, 2.5}, -3, 3},
            {{UnaryOp::MulScalar, 0.1}, -3, 3},
            {{UnaryOp::DivScalar, 3.0}, -3, 3},
            {{UnaryOp::RSubScalar, 1.0}, -3, 3},
            {{UnaryOp::RDivScalar, 2.0}, 0.1, 3}};
}

// y = f(x) through the raw CUDA kernel into a poisoned output.
Tensor unary_raw(const Tensor& x, const kernels::UnaryParams& p) {
    Tensor y = empty(x.shape(), {x.dtype(), x.device()});
    test::poison(y);
    const auto g = make_geometry<2>(x.shape(), {&y.strides(), &x.strides()});
    visit_cuda_float_dtype(x.dtype(), "test", [&](auto tag) {
        using T = typename decltype(tag)::type;
        kernels::unary_cuda<T>(p, g, y.data<T>(), x.data<T>(), current_stream());
    });
    return y;
}

Tensor binary_raw(const Tensor& a, const Tensor& b, const kernels::BinaryParams& p) {
    const Shape shape = broadcast_shapes(a.shape(), b.shape());
    Tensor out = empty(shape, {a.dtype(), a.device()});
    test::poison(out);
    const Tensor ae = a.expand(shape), be = b.expand(shape);
    const auto g = make_geometry<3>(shape, {&out.strides(), &ae.strides(), &be.strides()});
    visit_cuda_float_dtype(a.dtype(), "test", [&](auto tag) {
        using T = typename decltype(tag)::type;
        kernels::binary_cuda<T>(p, g, out.data<T>(), a.data<T>(), b.data<T>(), current_stream());
    });
    return out;
}

// Views that leave the fast path: transposed, stepped, and contiguous but 4 bytes off alignment.
std::vector<Tensor> awkward_views(const Tensor& base2d) {
    const int64_t n = base2d.numel();
    return {base2d.t(), base2d.slice(1, 0, base2d.size(1), 2), base2d.flatten().narrow(0, 1, n - 1)};
}

const std::vector<BinaryOp> kBinaryOps = {BinaryOp::Add, BinaryOp::Sub,     BinaryOp::Mul,
                                          BinaryOp::Div, BinaryOp::Maximum, BinaryOp::Minimum};

}  // namespace

TEST_CASE("CUDA unary ops match the CPU on odd shapes", "[cuda][elementwise][unary]") {
    const DType t = GENERATE(DType::F32, DType::F16, DType::BF16);
    const auto tol = tolerance_for(t);
    std::vector<Shape> shapes = test::odd_shapes();
    shapes.push_back({3, 100003});  // many blocks, a packed tail
    shapes.push_back({});
    for (const UnaryCase& c : unary_cases()) {
        for (const Shape& shape : shapes) {
            INFO(kernels::unary_op_name(c.p.op) << " " << dtype_name(t) << " " << shape_str(shape));
            const Tensor x = test::random_tensor(shape, t, c.lo, c.hi, 3);
            REQUIRE_CLOSE(unary_raw(x.cuda(), c.p), ops::unary(x, c.p), tol);
        }
        const Tensor base = test::random_tensor({33, 65}, t, c.lo, c.hi, 4);
        const std::vector<Tensor> cpu_views = awkward_views(base), gpu_views = awkward_views(base.cuda());
        for (size_t i = 0; i < cpu_views.size(); ++i) {
            INFO(kernels::unary_op_name(c.p.op) << " " << dtype_name(t) << " view " << i);
            REQUIRE_CLOSE(ops::unary(gpu_views[i], c.p), ops::unary(cpu_views[i], c.p), tol);
            REQUIRE_CLOSE(unary_raw(gpu_views[i], c.p), ops::unary(cpu_views[i], c.p), tol);
            // In place on the view: compare the whole storage, so writes outside the view show up.
            Tensor gb = base.cuda();
            Tensor cb = base.clone();
            Tensor gv = awkward_views(gb)[i], cv = awkward_views(cb)[i];
            ops::unary_(gv, c.p);
            ops::unary_(cv, c.p);
            REQUIRE_CLOSE(gb, cb, tol);
        }
    }
}

TEST_CASE("CUDA binary ops match the CPU with broadcasting", "[cuda][elementwise][binary]") {
    const DType t = GENERATE(DType::F32, DType::F16, DType::BF16);
    const auto tol = tolerance_for(t);
    struct Pair {
        Shape a, b;
    };
    std::vector<Pair> pairs = {{{3, 1, 5}, {1, 4, 1}},
                               {{2, 3, 5, 7}, {3, 1, 1}},
                               {{}, {4, 6}},
                               {{4, 6}, {}},
                               {{}, {}},
                               {{1, 13, 1, 31}, {5, 1, 7, 1}},
                               {{0, 3}, {1, 3}},
                               {{3, 100003}, {3, 1}},
                               {{3, 100003}, {3, 100003}}};
    for (const Shape& s : test::odd_shapes()) pairs.push_back({s, s});
    for (BinaryOp op : kBinaryOps) {
        const kernels::BinaryParams p{op, op == BinaryOp::Add || op == BinaryOp::Sub ? 0.75 : 1.0};
        for (const Pair& pr : pairs) {
            INFO(kernels::binary_op_name(op)
                 << " " << dtype_name(t) << " " << shape_str(pr.a) << " , " << shape_str(pr.b));
            const Tensor a = test::random_tensor(pr.a, t, -3, 3, 1);
            const Tensor b = test::random_tensor(pr.b, t, 0.5, 3, 2);
            const Tensor ref = ops::binary(a, b, p);
            REQUIRE_CLOSE(binary_raw(a.cuda(), b.cuda(), p), ref, tol);
            REQUIRE_CLOSE(ops::binary(a.cuda(), b.cuda(), p), ref, tol);
        }
        // Non-contiguous and unaligned operands.
        const Tensor a = test::random_tensor({33, 65}, t, -3, 3, 5), b = test::random_tensor({33, 65}, t, 0.5, 3, 6);
        const auto ca = awkward_views(a), cb = awkward_views(b), ga = awkward_views(a.cuda()),
                   gb = awkward_views(b.cuda());
        for (size_t i = 0; i < ca.size(); ++i) {
            INFO(kernels::binary_op_name(op) << " " << dtype_name(t) << " view " << i);
            REQUIRE_CLOSE(binary_raw(ga[i], gb[i], p), ops::binary(ca[i], cb[i], p), tol);
        }
        // In place into a non-contiguous destination with a broadcast source.
        Tensor gs = a.cuda(), cs = a.clone();
        Tensor gv = gs.slice(1, 0, 65, 2).t(), cv = cs.slice(1, 0, 65, 2).t();  // (33, 33)
        const Tensor src = test::random_tensor({1, 33}, t, 0.5, 3, 7);
        ops::binary_(gv, src.cuda(), p);
        ops::binary_(cv, src, p);
        REQUIRE_CLOSE(gs, cs, tol);
    }
    // NaN propagation of maximum/minimum on the device.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Tensor x = from_vector<double>({nan, 1, 2, nan}, {4}).to(t),
                 y = from_vector<double>({1, nan, 3, nan}, {4}).to(t);
    REQUIRE_CLOSE(ops::maximum(x.cuda(), y.cuda()), ops::maximum(x, y), kExact);
    REQUIRE_CLOSE(ops::minimum(x.cuda(), y.cuda()), ops::minimum(x, y), kExact);
}

TEST_CASE("CUDA comparisons and where match the CPU", "[cuda][elementwise][compare][where]") {
    const DType t = GENERATE(DType::F32, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8);
    const Tensor a = test::random_tensor({3, 1, 5}, DType::F64, 0, 4, 1).to(DType::I64).to(t);
    const Tensor b = test::random_tensor({1, 4, 1}, DType::F64, 0, 4, 2).to(DType::I64).to(t);
    for (CompareOp op : {CompareOp::Eq, CompareOp::Ne, CompareOp::Lt, CompareOp::Le, CompareOp::Gt, CompareOp::Ge}) {
        INFO(kernels::compare_op_name(op) << " " << dtype_name(t));
        const Tensor g = ops::compare(a.cuda(), b.cuda(), op);
        REQUIRE(g.dtype() == DType::Bool);
        REQUIRE_CLOSE(g, ops::compare(a, b, op), kExact);
        // A large contiguous pair (no broadcasting) and a transposed one.
        const Tensor big = test::random_tensor({2, 70001}, DType::F64, 0, 4, 3).to(DType::I64).to(t);
        const Tensor big2 = test::random_tensor({2, 70001}, DType::F64, 0, 4, 4).to(DType::I64).to(t);
        REQUIRE_CLOSE(ops::compare(big.cuda(), big2.cuda(), op), ops::compare(big, big2, op), kExact);
        const Tensor sq = test::random_tensor({31, 31}, DType::F64, 0, 4, 5).to(DType::I64).to(t);
        REQUIRE_CLOSE(ops::compare(sq.cuda().t(), sq.cuda(), op), ops::compare(sq.t(), sq, op), kExact);
    }
    // where: three-way broadcasting, then a non-contiguous condition and a scalar operand.
    const Tensor cond = ops::gt(test::random_tensor({3, 1, 5}, DType::F32, -1, 1, 6), 0.0);
    const Tensor w = test::random_tensor({4, 5}, DType::F64, 0, 100, 7).to(DType::I64).to(t);
    REQUIRE_CLOSE(ops::where(cond.cuda(), a.cuda(), w.cuda()), ops::where(cond, a, w), kExact);
    const Tensor ct = cond.expand({3, 4, 5}).transpose(0, 2);
    REQUIRE_CLOSE(ops::where(ct.cuda(), 7.0, w.t().unsqueeze(2).cuda()), ops::where(ct, 7.0, w.t().unsqueeze(2)),
                  kExact);
    const Tensor c2 = ops::gt(test::random_tensor({2, 70001}, DType::F32, -1, 1, 8), 0.0);
    const Tensor x2 = test::random_tensor({2, 70001}, DType::F64, 0, 100, 9).to(DType::I64).to(t);
    REQUIRE_CLOSE(ops::where(c2.cuda(), x2.cuda(), 3.0), ops::where(c2, x2, 3.0), kExact);
}

TEST_CASE("CUDA elementwise ops reject bad arguments", "[cuda][elementwise][errors]") {
    using Catch::Contains;
    const Tensor g = zeros({2, 3}, Device::cuda());
    REQUIRE_THROWS_WITH(ops::add(g, zeros({2, 3})), Contains("add") && Contains("device"));
    REQUIRE_THROWS_WITH(ops::relu(zeros({2, 3}, {DType::F64, Device::cuda()})),
                        Contains("relu") && Contains("f64") && Contains("CPU"));
    REQUIRE_THROWS_WITH(ops::add(zeros({2}, {DType::F64, Device::cuda()}), zeros({2}, {DType::F64, Device::cuda()})),
                        Contains("add") && Contains("f64"));
    REQUIRE_THROWS_WITH(ops::mul(g, zeros({2, 3}, {DType::BF16, Device::cuda()})),
                        Contains("mul") && Contains("f32") && Contains("bf16"));
    REQUIRE_THROWS_WITH(ops::where(ops::gt(g, 0.0), g, zeros({2, 3})), Contains("where") && Contains("device"));
}
