// CUDA dropout: the same Philox mask as the CPU for the same generator state (bitwise), the same
// values, the same generator advance; dropout2d; the backward; for f32, f16 and bf16, outputs
// poisoned first.
#include <catch2/catch.hpp>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;

TEST_CASE("dropout cuda: the same mask and values as the CPU", "[cuda][dropout]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    uint32_t seed = 1;
    for (const Shape& s : test::odd_shapes()) {
        for (double p : {0.1, 0.5, 0.9}) {
            INFO("shape " << shape_str(s) << " p " << p << " " << dtype_name(dt));
            const Tensor x = test::random_tensor(s, dt, -1, 1, seed++);
            Generator gc(77), gg(77);
            gc.set_offset(12345);
            gg.set_offset(12345);
            const Tensor xc = x.cuda();
            const void* poisoned = test::poison_next_cuda_output(s, dt);
            auto [y, mask] = ops::dropout(xc, p, &gg);
            if (x.numel() > 0) REQUIRE(y.data_ptr() == poisoned);
            auto [y_ref, mask_ref] = ops::dropout(x, p, &gc);
            REQUIRE(gg.offset() == gc.offset());
            REQUIRE_CLOSE(mask.to(DType::F32), mask_ref.to(DType::F32), (test::Tolerance{0, 0}));
            REQUIRE_CLOSE(y, y_ref, (test::Tolerance{0, 0}));
            const Tensor dy = test::random_tensor(s, dt, -1, 1, seed++);
            REQUIRE_CLOSE(ops::dropout_backward(dy.cuda(), mask, p), ops::dropout_backward(dy, mask_ref, p),
                          (test::Tolerance{0, 0}));
        }
    }
    for (const Shape& s : std::vector<Shape>{{1, 1, 1, 1}, {3, 5, 7, 11}, {8, 64, 17, 13}}) {
        INFO("dropout2d " << shape_str(s) << " " << dtype_name(dt));
        const Tensor x = test::random_tensor(s, dt, -1, 1, seed++);
        Generator gc(5), gg(5);
        auto [y, mask] = ops::dropout2d(x.cuda(), 0.3, &gg);
        auto [y_ref, mask_ref] = ops::dropout2d(x, 0.3, &gc);
        REQUIRE_CLOSE(mask.to(DType::F32), mask_ref.to(DType::F32), (test::Tolerance{0, 0}));
        REQUIRE_CLOSE(y, y_ref, (test::Tolerance{0, 0}));
        const Tensor dy = test::random_tensor(s, dt, -1, 1, seed++);
        REQUIRE_CLOSE(ops::dropout_backward(dy.cuda(), mask, 0.3), ops::dropout_backward(dy, mask_ref, 0.3),
                      (test::Tolerance{0, 0}));
    }
    // p = 0 and p = 1 on the device.
    const Tensor x = test::random_tensor({4, 5}, dt, -1, 1, 3).cuda();
    REQUIRE(ops::dropout(x, 0.0).first.data_ptr() == x.data_ptr());
    REQUIRE(ops::max(ops::abs(ops::dropout(x, 1.0).first.to(DType::F32))).item_double() == 0.0);
}
