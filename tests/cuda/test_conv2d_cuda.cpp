// CUDA conv2d against the CPU oracle: forward, input, weight and bias gradients over the
// configurations of tests/kernels/test_conv2d.cpp plus segmentation-sized layers, for f32, f16
// and bf16, outputs poisoned first.
#include <catch2/catch.hpp>

#include "kernels/conv/conv_backend.h"
#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using ops::Conv2dOptions;

namespace {

struct Case {
    Shape x, w;
    Conv2dOptions opt;
};

void check(const Case& c, DType dt, uint32_t seed) {
    INFO("x " << shape_str(c.x) << " w " << shape_str(c.w) << " stride " << c.opt.stride_h << " pad " << c.opt.pad_h
              << " dil " << c.opt.dil_h << " groups " << c.opt.groups << " " << dtype_name(dt));
    const auto p = ops::conv2d_params(c.x, c.w, c.opt);
    const Tensor x = test::random_tensor(c.x, dt, -1, 1, seed), w = test::random_tensor(c.w, dt, -1, 1, seed + 1);
    const Tensor b = test::random_tensor({p.k}, dt, -1, 1, seed + 2);
    const Tensor dy = test::random_tensor({p.n, p.k, p.p, p.q}, dt, -1, 1, seed + 3);
    const auto f32 = [](const Tensor& t) { return t.to(DType::F32); };
    test::Tolerance tol = test::tolerance_for(dt);
    tol.atol = dt == DType::F32 ? 1e-4 : tol.atol * 8;  // long dot products
    const void* poisoned = test::poison_next_cuda_output({p.n, p.k, p.p, p.q}, dt);
    const Tensor y = ops::conv2d(x.cuda(), w.cuda(), b.cuda(), c.opt);
    REQUIRE(y.data_ptr() == poisoned);
    REQUIRE_CLOSE(y, ops::conv2d(f32(x), f32(w), f32(b), c.opt), tol);
    REQUIRE_CLOSE(ops::conv2d_backward_input(dy.cuda(), w.cuda(), c.x, c.opt),
                  ops::conv2d_backward_input(f32(dy), f32(w), c.x, c.opt), tol);
    auto [dw, db] = ops::conv2d_backward_weight(x.cuda(), dy.cuda(), c.w, true, c.opt);
    auto [dw_ref, db_ref] = ops::conv2d_backward_weight(f32(x), f32(dy), c.w, true, c.opt);
    test::Tolerance wtol = tol;
    wtol.atol *= 4;  // sums over the whole batch
    REQUIRE_CLOSE(dw, dw_ref, wtol);
    REQUIRE_CLOSE(db, db_ref, wtol);
}

}  // namespace

TEST_CASE("conv2d cuda matches the CPU", "[cuda][conv2d]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    const std::vector<Case> cases = {
        {{2, 3, 7, 9}, {4, 3, 3, 3}, Conv2dOptions::make(1, 1)},
        {{1, 4, 11, 6}, {6, 4, 3, 3}, Conv2dOptions::make(2, 1)},
        {{2, 3, 9, 10}, {5, 3, 3, 3}, Conv2dOptions::make(1, 2, 2)},
        {{1, 2, 13, 13}, {3, 2, 3, 3}, Conv2dOptions::make(1, 6, 6)},
        {{2, 6, 8, 7}, {6, 1, 3, 3}, Conv2dOptions::make(1, 1, 1, 6)},
        {{1, 6, 8, 8}, {4, 3, 3, 3}, Conv2dOptions::make(2, 1, 1, 2)},
        {{3, 5, 6, 7}, {7, 5, 1, 1}, Conv2dOptions::make()},
        {{2, 3, 5, 8}, {2, 3, 7, 1}, {1, 1, 3, 0, 1, 1, 1}},
        {{1, 1, 1, 1}, {2, 1, 1, 1}, Conv2dOptions::make()},
        {{1, 2, 2, 3}, {2, 2, 3, 3}, Conv2dOptions::make(1, 4, 3)},
        // segmentation-sized: a U-Net stage, a ResNet bottleneck 1x1, an ASPP branch
        {{2, 64, 90, 120}, {64, 64, 3, 3}, Conv2dOptions::make(1, 1)},
        {{2, 256, 45, 60}, {64, 256, 1, 1}, Conv2dOptions::make()},
        {{1, 128, 33, 41}, {32, 128, 3, 3}, Conv2dOptions::make(1, 12, 12)},
        // depthwise (dedicated kernels): MobileNetV2 expansions, stride 2, multiplier 2, 5x5 atrous
        {{4, 144, 45, 60}, {144, 1, 3, 3}, Conv2dOptions::make(1, 1, 1, 144)},
        {{2, 96, 37, 51}, {96, 1, 3, 3}, Conv2dOptions::make(2, 1, 1, 96)},
        {{1, 4, 9, 8}, {8, 1, 3, 3}, Conv2dOptions::make(1, 1, 1, 4)},
        {{2, 3, 10, 9}, {3, 1, 5, 5}, Conv2dOptions::make(2, 4, 2, 3)},
    };
    uint32_t seed = 10;
    for (const Case& c : cases) check(c, dt, seed += 4);
}

TEST_CASE("conv_transpose2d cuda matches the CPU", "[cuda][conv_transpose2d]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    const auto o = ops::ConvTranspose2dOptions::make(2, 1, 1);
    const Tensor x = test::random_tensor({2, 32, 23, 31}, dt, -1, 1, 90), w = test::random_tensor({32, 16, 3, 3}, dt, -1, 1, 91);
    const Tensor b = test::random_tensor({16}, dt, -1, 1, 92);
    const Tensor dy = test::random_tensor(ops::conv_transpose2d_output_shape(x.shape(), w.shape(), o), dt, -1, 1, 93);
    const auto f32 = [](const Tensor& t) { return t.to(DType::F32); };
    test::Tolerance tol = test::tolerance_for(dt);
    tol.atol = dt == DType::F32 ? 1e-4 : tol.atol * 8;
    REQUIRE_CLOSE(ops::conv_transpose2d(x.cuda(), w.cuda(), b.cuda(), o), ops::conv_transpose2d(f32(x), f32(w), f32(b), o), tol);
    REQUIRE_CLOSE(ops::conv_transpose2d_backward_input(dy.cuda(), w.cuda(), o),
                  ops::conv_transpose2d_backward_input(f32(dy), f32(w), o), tol);
    auto [dw, db] = ops::conv_transpose2d_backward_weight(x.cuda(), dy.cuda(), w.shape(), true, o);
    auto [dwr, dbr] = ops::conv_transpose2d_backward_weight(f32(x), f32(dy), w.shape(), true, o);
    tol.atol *= 4;
    REQUIRE_CLOSE(dw, dwr, tol);
    REQUIRE_CLOSE(db, dbr, tol);
}

TEST_CASE("cuDNN backend matches the native kernels; autotune picks and records one", "[cuda][conv2d][cudnn]") {
    if (!cudnn_compiled()) {
        WARN("this build has no cuDNN: skipped");
        return;
    }
    using kernels::ConvBackend;
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    const std::vector<Case> cases = {
        {{2, 32, 45, 60}, {64, 32, 3, 3}, Conv2dOptions::make(1, 1)},
        {{2, 64, 33, 41}, {32, 64, 3, 3}, Conv2dOptions::make(1, 6, 6)},
        {{2, 96, 37, 51}, {96, 1, 3, 3}, Conv2dOptions::make(2, 1, 1, 96)},
        {{2, 256, 45, 60}, {64, 256, 1, 1}, Conv2dOptions::make()},
    };
    for (const Case& c : cases) {
        INFO("x " << shape_str(c.x) << " w " << shape_str(c.w) << " " << dtype_name(dt));
        const Tensor x = test::random_tensor(c.x, dt, -1, 1, 70).cuda(), w = test::random_tensor(c.w, dt, -1, 1, 71).cuda();
        const Tensor b = test::random_tensor({c.w[0]}, dt, -1, 1, 72).cuda();
        Conv2dOptions native = c.opt, cudnn = c.opt, tuned = c.opt;
        native.backend = ConvBackend::Native;
        cudnn.backend = ConvBackend::Cudnn;
        tuned.backend = ConvBackend::Auto;
        const Tensor y = ops::conv2d(x, w, b, native);
        const Tensor dy = test::random_tensor(y.shape(), dt, -1, 1, 73).cuda();
        test::Tolerance tol = test::tolerance_for(dt);
        tol.atol = dt == DType::F32 ? 1e-4 : tol.atol * 8;
        REQUIRE_CLOSE(ops::conv2d(x, w, b, cudnn), y, tol);
        REQUIRE_CLOSE(ops::conv2d(x, w, b, tuned), y, tol);
        REQUIRE_CLOSE(ops::conv2d_backward_input(dy, w, c.x, cudnn), ops::conv2d_backward_input(dy, w, c.x, native), tol);
        auto [dw_c, db_c] = ops::conv2d_backward_weight(x, dy, c.w, true, cudnn);
        auto [dw_n, db_n] = ops::conv2d_backward_weight(x, dy, c.w, true, native);
        tol.atol *= 4;
        REQUIRE_CLOSE(dw_c, dw_n, tol);
        REQUIRE_CLOSE(db_c, db_n, tol);
    }
    bool recorded = false;
    for (const auto& r : kernels::conv_tune_records()) recorded = recorded || r.key.rfind("forward", 0) == 0;
    REQUIRE(recorded);
}
