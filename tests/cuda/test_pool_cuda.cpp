// CUDA pooling against the CPU oracle: max_pool2d (values and indices exactly, gradient),
// max_unpool2d (duplicates: the last input wins, as on the CPU), avg_pool2d, adaptive_avg_pool2d
// (small bins and the one-block-per-output global path), over odd shapes and non-contiguous views,
// for f32, f16 and bf16, outputs poisoned first; and bitwise determinism of the gather backward.
#include <catch2/catch.hpp>

#include <cmath>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using ops::AvgPool2dOptions;
using ops::MaxPool2dOptions;

namespace {

const test::Tolerance kExact{0, 0};

// Integers in [0, levels): many tied maxima and duplicate pooling indices.
Tensor quantized(const Shape& shape, DType dt, double levels, uint32_t seed) {
    Tensor t = test::random_tensor(shape, DType::F32, 0, levels, seed);
    float* d = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) d[i] = std::floor(d[i]);
    return t.to(dt);
}

std::vector<Shape> shapes() {
    return {{1, 1, 1, 1}, {2, 3, 7, 9}, {1, 5, 13, 17}, {3, 2, 31, 33}, {2, 64, 45, 60}, {1, 3, 1, 37}};
}

}  // namespace

TEST_CASE("max_pool2d cuda matches the CPU", "[cuda][pool]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    uint32_t seed = 1;
    for (const Shape& s : shapes())
        for (const auto& o :
             {MaxPool2dOptions::make(2), MaxPool2dOptions::make(3, 2, 1), MaxPool2dOptions::make(3, 2, 1, 1, true),
              MaxPool2dOptions::make(3, 1, 1, 2), MaxPool2dOptions{2, 3, 1, 2, 1, 0, 1, 1, true}}) {
            Shape shape = s;
            bool fits = true;
            try {
                ops::max_pool2d_params(shape, o);
            } catch (const Error&) {
                fits = false;
            }
            if (!fits) continue;
            INFO("x " << shape_str(shape) << " k " << o.kh << "x" << o.kw << " ceil " << o.ceil_mode << " "
                      << dtype_name(dt));
            const auto p = ops::max_pool2d_params(shape, o);
            // Few distinct values: many ties, which must resolve to the same (first) index.
            const Tensor x = quantized(shape, dt, 8, seed++);
            const Tensor dy = test::random_tensor({p.n, p.c, p.oh, p.ow}, dt, -1, 1, seed++);
            const Tensor xc = x.cuda(), dyc = dy.cuda();  // device inputs first, then the poisoned output
            const void* poisoned = test::poison_next_cuda_output({p.n, p.c, p.oh, p.ow}, dt);
            auto [y, idx] = ops::max_pool2d(xc, o);
            REQUIRE(y.data_ptr() == poisoned);
            auto [y_ref, idx_ref] = ops::max_pool2d(x, o);
            REQUIRE_CLOSE(y, y_ref, kExact);
            REQUIRE_CLOSE(idx, idx_ref, kExact);
            const void* poisoned_dx = test::poison_next_cuda_output(shape, dt);
            const Tensor dx = ops::max_pool2d_backward(dyc, idx, shape, o);
            REQUIRE(dx.data_ptr() == poisoned_dx);
            REQUIRE_CLOSE(dx, ops::max_pool2d_backward(dy.to(DType::F32), idx_ref, shape, o), test::tolerance_for(dt));
            REQUIRE_CLOSE(ops::max_pool2d_backward(dyc, idx, shape, o), dx, kExact);  // deterministic
        }
    // NaN propagates with the same index.
    Tensor x = test::random_tensor({1, 2, 5, 6}, DType::F32, -1, 1, 99);
    x.data<float>()[7] = NAN;
    auto [yn, in] = ops::max_pool2d(x.to(dt).cuda(), MaxPool2dOptions::make(3, 2, 1));
    auto [yr, ir] = ops::max_pool2d(x.to(dt), MaxPool2dOptions::make(3, 2, 1));
    REQUIRE_CLOSE(yn, yr, kExact);
    REQUIRE_CLOSE(in, ir, kExact);
    // Non-contiguous input.
    const Tensor nc = test::random_tensor({2, 9, 7, 3}, dt, -1, 1, 5).permute({0, 3, 1, 2});
    REQUIRE_CLOSE(ops::max_pool2d(nc.cuda(), MaxPool2dOptions::make(3, 2, 1)).first,
                  ops::max_pool2d(nc, MaxPool2dOptions::make(3, 2, 1)).first, kExact);
}

TEST_CASE("max_unpool2d cuda matches the CPU", "[cuda][pool]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    uint32_t seed = 100;
    for (const Shape& s : shapes()) {
        for (const auto& o : {MaxPool2dOptions::make(2), MaxPool2dOptions::make(3, 2, 1)}) {
            if (s[2] < 2 || s[3] < 2) continue;
            INFO("x " << shape_str(s) << " k " << o.kh << " " << dtype_name(dt));
            const Tensor x = quantized(s, dt, 4, seed++);  // duplicates
            auto [pooled, idx] = ops::max_pool2d(x, o);
            const Tensor v = test::random_tensor(pooled.shape(), dt, -1, 1, seed++);
            const Tensor vc = v.cuda(), ic = idx.cuda();
            const void* poisoned = test::poison_next_cuda_output(s, dt);
            const Tensor u = ops::max_unpool2d(vc, ic, s[2], s[3]);
            REQUIRE(u.data_ptr() == poisoned);
            REQUIRE_CLOSE(u, ops::max_unpool2d(v, idx, s[2], s[3]), kExact);
            const Tensor dy = test::random_tensor(s, dt, -1, 1, seed++);
            REQUIRE_CLOSE(ops::max_unpool2d_backward(dy.cuda(), idx.cuda()), ops::max_unpool2d_backward(dy, idx),
                          kExact);
        }
    }
}

TEST_CASE("avg_pool2d and adaptive_avg_pool2d cuda match the CPU", "[cuda][pool]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    const auto f32 = [](const Tensor& t) { return t.to(DType::F32); };
    uint32_t seed = 200;
    for (const Shape& s : shapes()) {
        for (const auto& o :
             {AvgPool2dOptions::make(2), AvgPool2dOptions::make(3, 2, 1), AvgPool2dOptions::make(3, 2, 1, true, false),
              AvgPool2dOptions::make(3, 2, 0, true), AvgPool2dOptions{3, 2, 2, 1, 1, 1, false, true}}) {
            bool fits = true;
            try {
                ops::avg_pool2d_params(s, o);
            } catch (const Error&) {
                fits = false;
            }
            if (!fits) continue;
            INFO("avg x " << shape_str(s) << " k " << o.kh << "x" << o.kw << " " << dtype_name(dt));
            const auto p = ops::avg_pool2d_params(s, o);
            const Tensor x = test::random_tensor(s, dt, -1, 1, seed++);
            const Tensor dy = test::random_tensor({p.n, p.c, p.oh, p.ow}, dt, -1, 1, seed++);
            const Tensor xc = x.cuda(), dyc = dy.cuda();
            const void* poisoned = test::poison_next_cuda_output({p.n, p.c, p.oh, p.ow}, dt);
            const Tensor y = ops::avg_pool2d(xc, o);
            REQUIRE(y.data_ptr() == poisoned);
            REQUIRE_CLOSE(y, ops::avg_pool2d(f32(x), o), test::tolerance_for(dt));
            const void* poisoned_dx = test::poison_next_cuda_output(s, dt);
            const Tensor dx = ops::avg_pool2d_backward(dyc, s, o);
            REQUIRE(dx.data_ptr() == poisoned_dx);
            REQUIRE_CLOSE(dx, ops::avg_pool2d_backward(f32(dy), s, o), test::tolerance_for(dt));
            REQUIRE_CLOSE(ops::avg_pool2d_backward(dyc, s, o), dx, kExact);
        }
        for (auto [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 2}, {3, 3}, {6, 6}, {5, 7}}) {
            INFO("adaptive x " << shape_str(s) << " -> " << oh << "x" << ow << " " << dtype_name(dt));
            const Tensor x = test::random_tensor(s, dt, -1, 1, seed++);
            const Tensor dy = test::random_tensor({s[0], s[1], oh, ow}, dt, -1, 1, seed++);
            const Tensor xc = x.cuda(), dyc = dy.cuda();
            const void* poisoned = test::poison_next_cuda_output({s[0], s[1], oh, ow}, dt);
            const Tensor y = ops::adaptive_avg_pool2d(xc, oh, ow);
            REQUIRE(y.data_ptr() == poisoned);
            REQUIRE_CLOSE(y, ops::adaptive_avg_pool2d(f32(x), oh, ow), test::tolerance_for(dt));
            const void* poisoned_dx = test::poison_next_cuda_output(s, dt);
            const Tensor dx = ops::adaptive_avg_pool2d_backward(dyc, s);
            REQUIRE(dx.data_ptr() == poisoned_dx);
            REQUIRE_CLOSE(dx, ops::adaptive_avg_pool2d_backward(f32(dy), s), test::tolerance_for(dt));
        }
    }
    // Global pooling of a segmentation-sized map takes the one-block-per-output path.
    const Tensor big = test::random_tensor({2, 8, 128, 256}, dt, -1, 1, 7);
    test::Tolerance tol = test::tolerance_for(dt);
    tol.atol *= 4;
    REQUIRE_CLOSE(ops::adaptive_avg_pool2d(big.cuda(), 1, 1), ops::adaptive_avg_pool2d(f32(big), 1, 1), tol);
    REQUIRE_CLOSE(ops::adaptive_avg_pool2d(big.cuda(), 2, 3), ops::adaptive_avg_pool2d(f32(big), 2, 3), tol);
}
