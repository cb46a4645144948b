// CUDA reductions against the CPU oracle: odd shapes, every dim set, non-contiguous views, each
// CUDA dtype, long reductions (two-pass), bitwise run-to-run determinism.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "core/allocator.h"
#include "core/stream.h"
#include "kernels/reduce/reduce.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::Tolerance;
using segcore::test::tolerance_for;

namespace {

const Tolerance kExact{0, 0};

enum class Op { Sum, Mean, Max, Min, Var, Std };

Tensor run(Op op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
    switch (op) {
        case Op::Sum: return ops::sum(x, dims, keepdim);
        case Op::Mean: return ops::mean(x, dims, keepdim);
        case Op::Max: return ops::max(x, dims, keepdim);
        case Op::Min: return ops::min(x, dims, keepdim);
        case Op::Var: return ops::var(x, dims, 1, keepdim);
        case Op::Std: return ops::std(x, dims, 1, keepdim);
    }
    return {};
}

std::vector<std::vector<int64_t>> dim_sets(int64_t nd) {
    std::vector<std::vector<int64_t>> sets{{}};
    for (int64_t mask = 1; mask < (int64_t(1) << nd); ++mask) {
        std::vector<int64_t> s;
        for (int64_t d = 0; d < nd; ++d)
            if (mask & (int64_t(1) << d)) s.push_back(mask % 2 ? d - nd : d);
        sets.push_back(s);
    }
    return sets;
}

Tolerance tol_for(Op op, DType t) {
    Tolerance tol = tolerance_for(t);
    if (op == Op::Sum) tol.atol *= 10;  // sums grow like sqrt(n)
    return tol;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    const Tensor ca = a.cpu().contiguous(), cb = b.cpu().contiguous();
    return ca.nbytes() == cb.nbytes() && std::memcmp(ca.data_ptr(), cb.data_ptr(), size_t(ca.nbytes())) == 0;
}

void check_all(const Tensor& x_cpu, const std::vector<int64_t>& dims, bool keepdim, DType dt) {
    const Tensor x32 = x_cpu.to(DType::F32);  // the oracle reads the same (rounded) values in f32
    const Tensor xc = x_cpu.cuda();
    for (Op op : {Op::Sum, Op::Mean, Op::Max, Op::Min, Op::Var, Op::Std}) {
        INFO("shape " << shape_str(x_cpu.shape()) << " dtype " << dtype_name(dt) << " op " << int(op) << " ndims "
                      << dims.size() << " keepdim " << keepdim);
        const Tensor ref = run(op, x32, dims, keepdim);
        const void* poisoned = test::poison_next_cuda_output(ref.shape(), dt);
        const Tensor out = run(op, xc, dims, keepdim);
        REQUIRE(out.is_cuda());
        REQUIRE(out.data_ptr() == poisoned);  // else the poison proves nothing
        REQUIRE(out.dtype() == dt);
        REQUIRE_CLOSE(out, ref, tol_for(op, dt));
    }
    if (dims.size() <= 1) {
        const std::optional<int64_t> d = dims.empty() ? std::nullopt : std::optional<int64_t>(dims[0]);
        // same dtype on both sides: ties (common in bf16) must resolve to the same first index
        REQUIRE_CLOSE(ops::argmax(xc, d, keepdim), ops::argmax(x_cpu, d, keepdim), kExact);
    }
}

}  // namespace

TEST_CASE("reduce cuda: matches the CPU over odd shapes, dim sets and dtypes", "[cuda][reduce]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    Generator gen(42);
    for (const Shape& shape : test::odd_shapes()) {
        const Tensor x = randn(shape, dt, &gen);
        for (const auto& dims : dim_sets(x.dim()))
            for (bool keepdim : {false, true}) check_all(x, dims, keepdim, dt);
    }
}

TEST_CASE("reduce cuda: non-contiguous views", "[cuda][reduce]") {
    Generator gen(43);
    const Tensor base = randn({6, 33, 70}, DType::F32, &gen);
    const Tensor base_cuda = base.cuda();
    using View = Tensor (*)(const Tensor&);
    const View views[] = {
        [](const Tensor& t) { return t.transpose(0, 2); },
        [](const Tensor& t) { return t.slice(1, 1, 33, 3); },
        [](const Tensor& t) { return t.permute({1, 2, 0}).slice(2, 0, 6, 2); },
        [](const Tensor& t) { return t.select(1, 4); },
        [](const Tensor& t) { return t.slice(2, 1, 70); },  // rows start unaligned: scalar loads
    };
    for (View view : views) {
        // the CUDA kernels read the strided view itself, not a contiguous copy
        const Tensor x = view(base), xc = view(base_cuda);
        for (const auto& dims : dim_sets(x.dim())) {
            for (Op op : {Op::Sum, Op::Max, Op::Var}) {
                INFO("view " << shape_str(x.shape()) << " op " << int(op) << " ndims " << dims.size());
                REQUIRE_CLOSE(run(op, xc, dims, false), run(op, x, dims, false), tol_for(op, DType::F32));
            }
            if (dims.size() == 1) REQUIRE_CLOSE(ops::argmax(xc, dims[0]), ops::argmax(x, dims[0]), kExact);
        }
    }
}

TEST_CASE("reduce cuda: long reductions (two-pass) and segmentation shapes", "[cuda][reduce]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    Generator gen(44);
    struct Case {
        Shape shape;
        std::vector<int64_t> dims;
    };
    const std::vector<Case> cases = {
        {{3, 300007}, {}},          {{3, 300007}, {1}},       {{3, 300007}, {0}},
        {{4, 16, 67, 129}, {0, 2, 3}},                         // BatchNorm statistics, NCHW
        {{200001, 37}, {0}},        {{100003, 40}, {0}},      // column path, several chunks
        {{2, 3, 70001}, {0, 2}},    {{65536 * 2 + 3}, {0}},
    };
    for (const Case& c : cases) {
        Tensor x = randn(c.shape, dt, &gen);
        INFO("shape " << shape_str(c.shape));
        const Tensor x32 = x.to(DType::F32);
        const Tensor xc = x.cuda();
        Tolerance sum_tol = tol_for(Op::Sum, dt);
        sum_tol.atol = dt == DType::F32 ? 1e-3 : 0.5;  // |sum| ~ 1000 for 1e6 terms
        REQUIRE_CLOSE(ops::sum(xc, c.dims), ops::sum(x32, c.dims), sum_tol);
        REQUIRE_CLOSE(ops::mean(xc, c.dims), ops::mean(x32, c.dims), tolerance_for(dt));
        REQUIRE_CLOSE(ops::max(xc, c.dims), ops::max(x32, c.dims), tolerance_for(dt));
        auto [v, m] = ops::var_mean(xc, c.dims);
        auto [vr, mr] = ops::var_mean(x32, c.dims);
        REQUIRE_CLOSE(v, vr, tolerance_for(dt));
        REQUIRE_CLOSE(m, mr, tolerance_for(dt));
        if (c.dims.size() <= 1) {
            const std::optional<int64_t> d = c.dims.empty() ? std::nullopt : std::optional<int64_t>(c.dims[0]);
            REQUIRE_CLOSE(ops::argmax(xc, d), ops::argmax(x, d), kExact);
        }
    }
    // large mean: Welford keeps the variance
    Tensor x = empty({2, 400000}, DType::F32);
    normal_(x, 1e4, 1.0, &gen);
    REQUIRE_CLOSE(ops::var(x.cuda(), {1}), ops::var(x, {1}), Tolerance({1e-3, 1e-3}));
}

TEST_CASE("reduce cuda: bitwise identical run to run", "[cuda][reduce][determinism]") {
    Generator gen(45);
    const Tensor x = randn({8, 64, 128, 128}, {DType::F32, Device::cuda()}, &gen);
    const Tensor r = randn({3, 1000003}, {DType::F32, Device::cuda()}, &gen);
    auto once = [&] {
        return std::vector<Tensor>{ops::sum(x), ops::sum(x, {0, 2, 3}), ops::var_mean(x, {0, 2, 3}).first,
                                   ops::mean(r, {1}), ops::sum(r, {0}), ops::std(r), ops::argmax(r)};
    };
    const auto a = once(), b = once();
    for (size_t i = 0; i < a.size(); ++i) {
        INFO("result " << i);
        REQUIRE(bitwise_equal(a[i], b[i]));
    }
}

TEST_CASE("reduce cuda: f64 and empty reductions give clear errors", "[cuda][reduce][errors]") {
    REQUIRE_THROWS_WITH(ops::sum(ones({3}, {DType::F64, Device::cuda()})), Catch::Contains("f64"));
    REQUIRE_THROWS_WITH(ops::max(empty({2, 0}, Device::cuda()), {1}), Catch::Contains("zero elements"));
    REQUIRE(ops::sum(empty({2, 0}, Device::cuda()), {1}).cpu().get_double(1) == 0.0);
}
