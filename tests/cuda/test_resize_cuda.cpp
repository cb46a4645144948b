// CUDA interpolate against the CPU oracle: bilinear (align_corners both ways, by size and by scale
// factor, odd and x8 scales, down- and upsampling, 1x1), nearest and nearest-exact, over odd
// shapes and non-contiguous views, for f32, f16 and bf16, outputs poisoned first. The backward is
// the CUDA gather against the CPU scatter, and it must be bitwise reproducible.
#include <catch2/catch.hpp>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using kernels::InterpMode;
using ops::InterpolateOptions;

TEST_CASE("interpolate cuda matches the CPU", "[cuda][resize]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    const auto f32 = [](const Tensor& t) { return t.to(DType::F32); };
    const auto B = InterpMode::Bilinear, N = InterpMode::Nearest, E = InterpMode::NearestExact;
    const std::vector<InterpolateOptions> opts = {
        InterpolateOptions::scale(2, 2, B),       InterpolateOptions::scale(2, 2, B, true),
        InterpolateOptions::scale(8, 8, B),       InterpolateOptions::scale(1.5, 2.3, B),
        InterpolateOptions::scale(0.7, 0.45, B),  InterpolateOptions::size(1, 1, B, true),
        InterpolateOptions::size(1, 1, B),        InterpolateOptions::size(37, 5, B, true),
        InterpolateOptions::scale(3, 3, B, true), InterpolateOptions::scale(1.01, 1.05, B),
        InterpolateOptions::scale(2, 2, N),       InterpolateOptions::scale(1.7, 0.6, N),
        InterpolateOptions::size(29, 3, N),       InterpolateOptions::scale(1.7, 2.5, E),
        InterpolateOptions::size(29, 3, E),
    };
    uint32_t seed = 1;
    for (const Shape& s :
         std::vector<Shape>{{1, 1, 1, 1}, {2, 3, 7, 9}, {1, 5, 13, 17}, {2, 16, 45, 60}, {1, 2, 1, 31}})
        for (const InterpolateOptions& o : opts) {
            if (o.scale_h > 0 && (s[2] * o.scale_h < 1 || s[3] * o.scale_w < 1)) continue;
            const auto p = ops::interpolate_params(s, o);
            INFO("x " << shape_str(s) << " -> " << p.oh << "x" << p.ow << " mode " << int(o.mode) << " align "
                      << o.align_corners << " " << dtype_name(dt));
            const Tensor x = test::random_tensor(s, dt, -1, 1, seed++);
            const Tensor dy = test::random_tensor({p.n, p.c, p.oh, p.ow}, dt, -1, 1, seed++);
            const Tensor xc = x.cuda(), dyc = dy.cuda();  // device inputs first, then the poisoned output
            const void* poisoned = test::poison_next_cuda_output({p.n, p.c, p.oh, p.ow}, dt);
            const Tensor y = ops::interpolate(xc, o);
            REQUIRE(y.data_ptr() == poisoned);
            if (o.mode == B)
                REQUIRE_CLOSE(y, ops::interpolate(f32(x), o), test::tolerance_for(dt));
            else
                REQUIRE_CLOSE(y, ops::interpolate(x, o), (test::Tolerance{0, 0}));  // a copy
            const void* poisoned_dx = test::poison_next_cuda_output(s, dt);
            const Tensor dx = ops::interpolate_backward(dyc, s, o);
            REQUIRE(dx.data_ptr() == poisoned_dx);
            test::Tolerance tol = test::tolerance_for(dt);
            tol.atol *= 8;  // up to 64 weighted terms (x8) summed in a different order than the scatter
            REQUIRE_CLOSE(dx, ops::interpolate_backward(f32(dy), s, o), tol);
            REQUIRE_CLOSE(ops::interpolate_backward(dyc, s, o), dx, (test::Tolerance{0, 0}));
        }
    const Tensor nc = test::random_tensor({2, 9, 7, 3}, dt, -1, 1, 5).permute({0, 3, 1, 2});
    REQUIRE_CLOSE(ops::interpolate(nc.cuda(), InterpolateOptions::scale(2, 2)),
                  ops::interpolate(f32(nc), InterpolateOptions::scale(2, 2)), test::tolerance_for(dt));
}
