// CUDA batch_norm against the CPU oracle: statistics, running-stat updates, output and gradients
// in training and eval, fused activations, f32/f16/bf16 inputs with f32 statistics, shapes from
// one pixel per channel up to segmentation activations (many splits per channel).
#include <catch2/catch.hpp>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using kernels::Act;

TEST_CASE("batch_norm cuda matches the CPU", "[cuda][batch_norm]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    for (const Shape& shape : {Shape{4, 3, 5, 7}, Shape{2, 5, 1, 1}, Shape{3, 17}, Shape{8, 32, 90, 120},
                               Shape{2, 256, 33, 47}}) {
        const int64_t c = shape[1];
        const Tensor x = test::random_tensor(shape, dt, -3, 5, 1), dy = test::random_tensor(shape, dt, -1, 1, 2);
        const Tensor g = test::random_tensor({c}, DType::F32, 0.5, 1.5, 3), b = test::random_tensor({c}, DType::F32, -0.5, 0.5, 4);
        const Tensor rm0 = test::random_tensor({c}, DType::F32, -1, 1, 5), rv0 = test::random_tensor({c}, DType::F32, 0.5, 2, 6);
        for (Act act : {Act::None, Act::Relu, Act::Relu6})
            for (bool training : {true, false}) {
                INFO(shape_str(shape) << " " << dtype_name(dt) << " " << kernels::act_name(act) << " training " << training);
                Tensor rm_c = rm0.clone(), rv_c = rv0.clone();
                Tensor rm_g = rm0.cuda(), rv_g = rv0.cuda();
                const auto rc = ops::batch_norm(x.to(DType::F32), g, b, rm_c, rv_c, training, 0.1, 1e-5, act);
                const void* poisoned = test::poison_next_cuda_output(shape, dt);
                const auto rg = ops::batch_norm(x.cuda(), g.cuda(), b.cuda(), rm_g, rv_g, training, 0.1, 1e-5, act);
                REQUIRE(rg.y.data_ptr() == poisoned);
                REQUIRE_CLOSE(rg.y, rc.y, test::tolerance_for(dt));
                REQUIRE_CLOSE(rg.save_mean, rc.save_mean, (test::Tolerance{1e-5, 1e-5}));
                REQUIRE_CLOSE(rg.save_invstd, rc.save_invstd, (test::Tolerance{1e-5, 1e-4}));
                REQUIRE_CLOSE(rm_g, rm_c, (test::Tolerance{1e-5, 1e-5}));
                REQUIRE_CLOSE(rv_g, rv_c, (test::Tolerance{1e-5, 1e-4}));
                const auto gc = ops::batch_norm_backward(dy.to(DType::F32), x.to(DType::F32), rc.save_mean,
                                                         rc.save_invstd, g, b, training, act);
                const auto gg = ops::batch_norm_backward(dy.cuda(), x.cuda(), rg.save_mean, rg.save_invstd, g.cuda(),
                                                         b.cuda(), training, act);
                test::Tolerance tol = test::tolerance_for(dt);
                tol.atol *= 10;
                REQUIRE_CLOSE(gg.dx, gc.dx, tol);
                const test::Tolerance sum_tol{1e-3, 1e-3};  // channel sums of up to 170k values
                REQUIRE_CLOSE(gg.dgamma, gc.dgamma, sum_tol);
                REQUIRE_CLOSE(gg.dbeta, gc.dbeta, sum_tol);
            }
    }
}

TEST_CASE("fused Conv-BN-ReLU epilogue on cuda", "[cuda][batch_norm][conv2d]") {
    const Tensor x = test::random_tensor({2, 16, 21, 19}, DType::F32, -1, 1, 8);
    const Tensor w = test::random_tensor({8, 16, 3, 3}, DType::F32, -0.3, 0.3, 9);
    const Tensor b = test::random_tensor({8}, DType::F32, -0.2, 0.2, 10);
    for (Act act : {Act::Relu, Act::Relu6})
        REQUIRE_CLOSE(ops::conv2d(x.cuda(), w.cuda(), b.cuda(), ops::Conv2dOptions::make(1, 1), act),
                      ops::conv2d(x, w, b, ops::Conv2dOptions::make(1, 1), act), (test::Tolerance{1e-4, 1e-4}));
}
