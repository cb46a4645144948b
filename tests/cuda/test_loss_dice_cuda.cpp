// CUDA region losses against the CPU oracle: Dice / Generalised Dice / Tversky and Lovász-softmax,
// loss and logits gradient, f32/f16/bf16 logits with i64/i32/u8 labels, shapes from 1x1 to many
// blocks per class and 150 classes, ignored pixels, outputs poisoned first; bitwise determinism
// across runs; the bad-label error read from the device flag.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using kernels::DiceVariant;

namespace {

Tensor make_labels(const Shape& shape, int64_t c, double ignored, uint32_t seed) {
    const Tensor u = test::random_tensor(shape, DType::F64, 0, 1, seed);
    const Tensor v = test::random_tensor(shape, DType::F64, 0, double(c), seed + 7);
    Tensor l = empty(shape, {DType::I64});
    for (int64_t i = 0; i < l.numel(); ++i)
        l.data<int64_t>()[i] =
            u.data<double>()[i] < ignored ? 255 : std::min<int64_t>(c - 1, int64_t(v.data<double>()[i]));
    return l;
}

double max_abs(const Tensor& t) {
    const Tensor a = t.to(DType::F64).cpu().contiguous();
    double m = 0;
    for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data<double>()[i]));
    return m;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    const Tensor x = a.cpu().contiguous(), y = b.cpu().contiguous();
    return x.nbytes() == y.nbytes() && std::memcmp(x.data_ptr(), y.data_ptr(), size_t(x.nbytes())) == 0;
}

const std::vector<Shape> kShapes = {Shape{2, 19, 33, 47}, Shape{1, 3, 1, 1}, Shape{3, 5, 17, 13}, Shape{4, 19, 64, 96},
                                    Shape{1, 150, 8, 9}, Shape{2, 2, 1, 300}};

}  // namespace

TEST_CASE("dice family cuda matches the CPU", "[cuda][loss][dice]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    for (const Shape& shape : kShapes) {
        const int64_t c = shape[1];
        const Tensor x = test::random_tensor(shape, dt, -4, 4, 1);
        const Tensor xf = x.to(DType::F32);
        const Tensor l = make_labels({shape[0], shape[2], shape[3]}, c, 0.15, 2);
        for (DType lt : {DType::I64, DType::U8})
            for (DiceVariant v : {DiceVariant::Dice, DiceVariant::Generalized, DiceVariant::Tversky})
                for (bool present : {false, true}) {
                    ops::DiceLossOptions o;
                    o.variant = v;
                    o.present_only = present;
                    o.include_background = !present;
                    o.alpha = 0.3;
                    o.beta = 0.7;
                    INFO(shape_str(shape) << " " << dtype_name(dt) << " labels " << dtype_name(lt) << " "
                                          << kernels::dice_variant_name(v) << " present " << present);
                    const Tensor lc = l.to(lt);
                    const auto rc = ops::dice_loss(xf, lc, o);
                    const auto rg = ops::dice_loss(x.cuda(), lc.cuda(), o);
                    REQUIRE(rg.loss.dtype() == DType::F32);
                    REQUIRE_CLOSE(rg.loss, rc.loss, (test::Tolerance{1e-5, 1e-4}));
                    REQUIRE_CLOSE(rg.stats, rc.stats, (test::Tolerance{1e-3, 1e-5}));
                    const Tensor go = full({}, 0.75, {DType::F32});
                    const Tensor dc = ops::dice_loss_backward(go, xf, lc, rc.stats, o);
                    const void* poisoned = test::poison_next_cuda_output(shape, dt);
                    const Tensor dg = ops::dice_loss_backward(go.cuda(), x.cuda(), lc.cuda(), rg.stats, o);
                    REQUIRE(dg.data_ptr() == poisoned);
                    REQUIRE(dg.dtype() == dt);
                    const test::Tolerance t = test::tolerance_for(dt);
                    REQUIRE_CLOSE(dg, dc, (test::Tolerance{t.atol * max_abs(dc) + 1e-9, t.rtol * 10}));
                }
    }
}

TEST_CASE("lovasz-softmax cuda matches the CPU", "[cuda][loss][lovasz]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    for (const Shape& shape : kShapes) {
        const int64_t c = shape[1];
        const Tensor x = test::random_tensor(shape, dt, -4, 4, 3);
        const Tensor xf = x.to(DType::F32);
        const Tensor l = make_labels({shape[0], shape[2], shape[3]}, c, 0.15, 4);
        for (bool present : {true, false}) {
            ops::LovaszOptions o;
            o.present_only = present;
            INFO(shape_str(shape) << " " << dtype_name(dt) << " present " << present);
            const auto rc = ops::lovasz_softmax(xf, l, o, true);
            const auto rg = ops::lovasz_softmax(x.cuda(), l.to(DType::I32).cuda(), o, true);
            REQUIRE_CLOSE(rg.loss, rc.loss, (test::Tolerance{1e-5, 1e-4}));
            // Errors that differ by a rounding can swap places between the backends: the two
            // pixels then exchange neighbouring Jaccard steps. Compare at the scale of dL/dp.
            const double scale = max_abs(rc.dldp);
            REQUIRE_CLOSE(rg.dldp, rc.dldp, (test::Tolerance{0.05 * scale + 1e-9, 0}));
            const Tensor go = full({}, 1.5, {DType::F32});
            const Tensor dc = ops::lovasz_softmax_backward(go, xf, rc.dldp);
            const void* poisoned = test::poison_next_cuda_output(shape, dt);
            const Tensor dg = ops::lovasz_softmax_backward(go.cuda(), x.cuda(), rc.dldp.cuda());
            REQUIRE(dg.data_ptr() == poisoned);
            const test::Tolerance t = test::tolerance_for(dt);
            REQUIRE_CLOSE(dg, dc, (test::Tolerance{t.atol * max_abs(dc) + 1e-9, t.rtol * 10}));
        }
    }
}

TEST_CASE("region losses on cuda are deterministic", "[cuda][loss][dice][lovasz]") {
    const Tensor x = test::random_tensor({8, 19, 90, 120}, DType::F32, -4, 4, 5).cuda();
    const Tensor l = make_labels({8, 90, 120}, 19, 0.1, 6).cuda();
    const auto a = ops::dice_loss(x, l), b = ops::dice_loss(x, l);
    REQUIRE(bitwise_equal(a.loss, b.loss));
    REQUIRE(bitwise_equal(a.stats, b.stats));
    const auto la = ops::lovasz_softmax(x, l, {}, true), lb = ops::lovasz_softmax(x, l, {}, true);
    REQUIRE(bitwise_equal(la.loss, lb.loss));
    REQUIRE(bitwise_equal(la.dldp, lb.dldp));
}

TEST_CASE("region losses on cuda: all ignored, bad labels", "[cuda][loss][dice][lovasz]") {
    const Tensor x = test::random_tensor({2, 3, 4, 5}, DType::F32, -2, 2, 7).cuda();
    const Tensor ign = full({2, 4, 5}, 255, {DType::U8}).cuda();
    REQUIRE(ops::dice_loss(x, ign).loss.item_double() == 0.0);
    REQUIRE(ops::lovasz_softmax(x, ign).loss.item_double() == 0.0);
    Tensor l = zeros({2, 4, 5}, {DType::I64});
    l.data<int64_t>()[1 * 20 + 2 * 5 + 3] = 7;
    l.data<int64_t>()[1 * 20 + 3 * 5 + 1] = 9;
    REQUIRE_THROWS_WITH(ops::dice_loss(x, l.cuda()),
                        Catch::Contains("label 7 at (1, 2, 3) is outside [0, 3) and is not the ignore_index 255"));
    REQUIRE_THROWS_WITH(ops::lovasz_softmax(x, l.cuda()), Catch::Contains("label 7 at (1, 2, 3)"));
    // The device is still usable afterwards (no device-side assert).
    REQUIRE(std::isfinite(ops::dice_loss(x, zeros({2, 4, 5}, {DType::I64}).cuda()).loss.item_double()));
    REQUIRE_THROWS_WITH(ops::dice_loss(x.to(DType::F64), l.cuda()), Catch::Contains("f64"));
}
