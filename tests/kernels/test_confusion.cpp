// Confusion-matrix update (kernels/metrics/confusion.h) on the CPU: hand-computed matrices,
// argmax ties and NaN, ignore_index, accumulation across calls, logits vs labels input, 256
// classes, every logits and label dtype against a naive loop, invalid labels, bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

// The naive definition, one pixel at a time, reading through get_double (any dtype, any layout).
std::vector<int64_t> naive_confusion(const Tensor& input, const Tensor& target, int64_t c, int64_t ignore) {
    std::vector<int64_t> m(size_t(c * c), 0);
    const Tensor x = input.contiguous(), t = target.contiguous();
    const bool logits = is_floating(x.dtype());
    const int64_t n = t.size(0), hw = t.numel() / n;
    for (int64_t b = 0; b < n; ++b)
        for (int64_t j = 0; j < hw; ++j) {
            const int64_t tv = int64_t(t.get_double(b * hw + j));
            if (tv == ignore) continue;
            int64_t p = 0;
            if (logits) {
                double best = x.get_double((b * c) * hw + j);
                for (int64_t k = 1; k < c; ++k) {
                    const double v = x.get_double((b * c + k) * hw + j);
                    if (std::isnan(best)) break;  // the first NaN is the maximum
                    if (std::isnan(v) || v > best) best = v, p = k;
                }
            } else {
                p = int64_t(x.get_double(b * hw + j));
            }
            ++m[size_t(tv * c + p)];
        }
    return m;
}

std::vector<int64_t> to_vec(const Tensor& conf) {
    const Tensor h = conf.cpu().contiguous();
    return std::vector<int64_t>(h.data<int64_t>(), h.data<int64_t>() + h.numel());
}

// Random labels in [0, c) with about `ignore_frac` of them set to `ignore`.
Tensor random_labels(const Shape& s, int64_t c, int64_t ignore, double ignore_frac, uint32_t seed,
                     DType dt = DType::I64) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> cls(0, c - 1);
    std::uniform_real_distribution<double> u(0, 1);
    Tensor t = empty(s, {DType::I64});
    for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = u(rng) < ignore_frac ? ignore : cls(rng);
    return t.to(dt);
}

}  // namespace

TEST_CASE("confusion matrix by hand", "[confusion]") {
    // 1 image, 3 classes, 2 x 3 pixels. Logits channel-major; the argmax per pixel is
    //   pixel:  0  1  2  3  4  5
    //   pred:   0  1  2  2  1  0
    //   target: 0  1  1  2  255 2
    const Tensor logits = from_vector<float>({5, 0, 0, 0, 0, 9,   //
                                              1, 7, 0, 0, 4, 0,   //
                                              0, 0, 3, 1, 2, 0},  //
                                             {1, 3, 2, 3});
    const Tensor target = from_vector<int64_t>({0, 1, 1, 2, 255, 2}, {1, 2, 3});
    const Tensor conf = ops::confusion_matrix(logits, target, 3);
    // rows = ground truth, cols = prediction
    REQUIRE(to_vec(conf) == std::vector<int64_t>{1, 0, 0,  //
                                                 0, 1, 1,  //
                                                 1, 0, 1});
    // The same from predicted labels.
    const Tensor pred = from_vector<int64_t>({0, 1, 2, 2, 1, 0}, {1, 2, 3});
    REQUIRE(to_vec(ops::confusion_matrix(pred, target, 3)) == to_vec(conf));
}

TEST_CASE("confusion argmax ties take the first maximum, NaN is the maximum", "[confusion]") {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    // 4 classes, 6 pixels (one image, 1 x 6):
    //   p0: (1, 1, 0, 1)      -> 0 (first of three ties)
    //   p1: (0, 2, 2, 2)      -> 1
    //   p2: (0, NaN, 5, NaN)  -> 1 (first NaN)
    //   p3: (NaN, 9, 9, 9)    -> 0
    //   p4: (-inf x 4)        -> 0
    //   p5: (-1, inf, 3, inf) -> 1
    const std::vector<float> per_pixel[6] = {
        {1, 1, 0, 1}, {0, 2, 2, 2}, {0, nan, 5, nan}, {nan, 9, 9, 9}, {-inf, -inf, -inf, -inf}, {-1, inf, 3, inf}};
    std::vector<float> v(24);
    for (int p = 0; p < 6; ++p)
        for (int k = 0; k < 4; ++k) v[size_t(k * 6 + p)] = per_pixel[p][size_t(k)];
    const Tensor target = from_vector<int64_t>({3, 3, 3, 3, 3, 3}, {1, 1, 6});
    const std::vector<int64_t> expect_pred = {0, 1, 1, 0, 0, 1};
    for (DType dt : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
        INFO(dtype_name(dt));
        const Tensor logits = from_vector<float>(v, {1, 4, 1, 6}).to(dt);
        const auto m = to_vec(ops::confusion_matrix(logits, target, 4));
        std::vector<int64_t> row3(4, 0);
        for (int64_t p : expect_pred) ++row3[size_t(p)];
        REQUIRE(std::vector<int64_t>(m.begin() + 12, m.end()) == row3);
        // and the same as ops::argmax (PyTorch's rule)
        const Tensor am = ops::argmax(logits, 1);
        REQUIRE(to_vec(ops::confusion_matrix(am, target, 4)) == m);
    }
}

TEST_CASE("confusion matches the naive loop for every dtype", "[confusion]") {
    const int64_t c = 7;
    const Shape ls{3, c, 13, 17}, ts{3, 13, 17};
    for (DType tdt : {DType::I64, DType::I32, DType::U8}) {
        const Tensor target = random_labels(ts, c, 255, 0.1, 11, tdt);
        for (DType dt : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
            INFO(dtype_name(dt) << " target " << dtype_name(tdt));
            const Tensor logits = test::random_tensor(ls, dt, -4, 4, 3);
            REQUIRE(to_vec(ops::confusion_matrix(logits, target, c)) == naive_confusion(logits, target, c, 255));
        }
        for (DType pdt : {DType::I64, DType::I32, DType::U8}) {
            INFO("pred " << dtype_name(pdt) << " target " << dtype_name(tdt));
            const Tensor pred = random_labels(ts, c, 0, 0.0, 5, pdt);
            REQUIRE(to_vec(ops::confusion_matrix(pred, target, c)) == naive_confusion(pred, target, c, 255));
        }
    }
}

TEST_CASE("confusion logits and argmax labels agree; accumulation across calls", "[confusion]") {
    const int64_t c = 19;
    Tensor acc_logits = zeros({c, c}, {DType::I64}), acc_labels = zeros({c, c}, {DType::I64});
    std::vector<int64_t> expect(size_t(c * c), 0);
    for (uint32_t b = 0; b < 4; ++b) {
        const Shape ls{2, c, 31 + b, 29}, ts{2, 31 + b, 29};  // a different size every batch
        const Tensor logits = test::random_tensor(ls, DType::F32, -3, 3, 100 + b);
        const Tensor target = random_labels(ts, c, 255, 0.2, 200 + b);
        ops::confusion_matrix_update(acc_logits, logits, target);
        ops::confusion_matrix_update(acc_labels, ops::argmax(logits, 1), target);
        const auto m = naive_confusion(logits, target, c, 255);
        for (size_t i = 0; i < m.size(); ++i) expect[i] += m[i];
    }
    REQUIRE(to_vec(acc_logits) == expect);
    REQUIRE(to_vec(acc_labels) == expect);
    int64_t total = 0;
    for (int64_t v : expect) total += v;
    REQUIRE(total > 0);
}

TEST_CASE("confusion with 256 classes", "[confusion]") {
    const int64_t c = 256;
    const Tensor logits = test::random_tensor({2, c, 9, 11}, DType::F32, -1, 1, 7);
    // ignore_index -1 (255 is a class here); u8 targets reach every class
    const Tensor target = random_labels({2, 9, 11}, c, 0, 0.0, 8, DType::U8);
    ops::ConfusionOptions opt;
    opt.ignore_index = -1;
    const auto m = to_vec(ops::confusion_matrix(logits, target, c, opt));
    REQUIRE(m == naive_confusion(logits, target, c, -1));
    // with the default ignore_index 255, class-255 pixels are ignored
    const auto m255 = to_vec(ops::confusion_matrix(logits, target, c));
    REQUIRE(m255 == naive_confusion(logits, target, c, 255));
    int64_t row255 = 0;
    for (int64_t j = 0; j < c; ++j) row255 += m255[size_t(255 * c + j)];
    REQUIRE(row255 == 0);
}

TEST_CASE("confusion ignore_index edge cases", "[confusion]") {
    const Tensor logits = test::random_tensor({2, 3, 4, 5}, DType::F32, -1, 1, 9);
    SECTION("all pixels ignored") {
        const Tensor target = full({2, 4, 5}, 255, {DType::I64});
        REQUIRE(to_vec(ops::confusion_matrix(logits, target, 3)) == std::vector<int64_t>(9, 0));
    }
    SECTION("negative ignore index, and a prediction outside [0, C) at an ignored pixel is fine") {
        const Tensor target = from_vector<int64_t>({-100, 1, 2, -100}, {1, 2, 2});
        const Tensor pred = from_vector<int64_t>({77, 1, 0, -5}, {1, 2, 2});
        ops::ConfusionOptions opt;
        opt.ignore_index = -100;
        REQUIRE(to_vec(ops::confusion_matrix(pred, target, 3, opt)) == std::vector<int64_t>{0, 0, 0, 0, 1, 0, 1, 0, 0});
    }
    SECTION("1x1 images and one class") {
        const Tensor l1 = test::random_tensor({5, 1, 1, 1}, DType::F32, -1, 1, 3);
        const Tensor t1 = from_vector<int64_t>({0, 0, 255, 0, 0}, {5, 1, 1});
        REQUIRE(to_vec(ops::confusion_matrix(l1, t1, 1)) == std::vector<int64_t>{4});
    }
    SECTION("empty batch leaves the matrix alone") {
        Tensor conf = full({3, 3}, 2, {DType::I64});
        ops::confusion_matrix_update(conf, empty({0, 3, 4, 5}), empty({0, 4, 5}, {DType::I64}));
        REQUIRE(to_vec(conf) == std::vector<int64_t>(9, 2));
    }
}

TEST_CASE("confusion of non-contiguous inputs", "[confusion]") {
    const int64_t c = 5;
    // NHWC storage viewed as NCHW; a transposed target
    const Tensor nhwc = test::random_tensor({2, 7, 9, c}, DType::F32, -2, 2, 21);
    const Tensor logits = nhwc.permute({0, 3, 1, 2});
    const Tensor target = random_labels({2, 9, 7}, c, 255, 0.1, 22).transpose(1, 2);
    REQUIRE_FALSE(logits.is_contiguous());
    REQUIRE_FALSE(target.is_contiguous());
    REQUIRE(to_vec(ops::confusion_matrix(logits, target, c)) == naive_confusion(logits, target, c, 255));
}

TEST_CASE("confusion invalid labels", "[confusion]") {
    const Tensor logits = test::random_tensor({1, 3, 2, 3}, DType::F32, -1, 1, 4);
    const Tensor target = from_vector<int64_t>({0, 1, 7, 2, 255, -3}, {1, 2, 3});
    Tensor conf = zeros({3, 3}, {DType::I64});
    SECTION("checked: an error naming the value and the pixel") {
        REQUIRE_THROWS_WITH(ops::confusion_matrix_update(conf, logits, target),
                            Catch::Contains("ground-truth label 7 at pixel (n=0, h=0, w=2)") &&
                                Catch::Contains("outside [0, 3)") && Catch::Contains("2 such pixel(s)"));
        // the valid pixels were counted
        int64_t total = 0;
        for (int64_t v : to_vec(conf)) total += v;
        REQUIRE(total == 3);
        const Tensor pred = from_vector<int64_t>({0, 3, 1, 1, 9, 0}, {1, 2, 3});
        const Tensor ok_target = from_vector<int64_t>({0, 1, 2, 2, 255, 0}, {1, 2, 3});
        REQUIRE_THROWS_WITH(ops::confusion_matrix(pred, ok_target, 3),
                            Catch::Contains("predicted label 3 at pixel (n=0, h=0, w=1)"));
    }
    SECTION("unchecked: skipped and counted in the status") {
        ops::ConfusionOptions opt;
        opt.check_labels = false;
        Tensor status = ops::confusion_status(Device::cpu());
        ops::confusion_matrix_update(conf, logits, target, opt, status);
        ops::confusion_matrix_update(conf, logits, target, opt, status);
        const int64_t* s = status.data<int64_t>();
        REQUIRE(s[kernels::kBadTargetCount] == 4);
        REQUIRE(s[kernels::kBadTargetFirst] == 2);
        REQUIRE(s[kernels::kBadPredCount] == 0);
        REQUIRE(s[kernels::kBadPredFirst] == kernels::kNoPixel);
        int64_t total = 0;
        for (int64_t v : to_vec(conf)) total += v;
        REQUIRE(total == 6);
    }
}

TEST_CASE("confusion merge", "[confusion]") {
    Tensor a = full({2, 2}, 3, {DType::I64});
    const Tensor b = from_vector<int64_t>({1, 2, 3, 4}, {2, 2});
    ops::confusion_matrix_merge_(a, b);
    REQUIRE(to_vec(a) == std::vector<int64_t>{4, 5, 6, 7});
    Tensor c3 = zeros({3, 3}, {DType::I64});
    REQUIRE_THROWS_WITH(ops::confusion_matrix_merge_(c3, b), Catch::Contains("same C"));
}

TEST_CASE("confusion bad input", "[confusion]") {
    const Tensor logits = zeros({2, 3, 4, 5});
    const Tensor target = zeros({2, 4, 5}, {DType::I64});
    Tensor conf = zeros({3, 3}, {DType::I64});
    Tensor conf4 = zeros({4, 4}, {DType::I64});
    REQUIRE_THROWS_WITH(ops::confusion_matrix_update(conf4, logits, target), Catch::Contains("expected (2, 4, 4, 5)"));
    Tensor conf_f = zeros({3, 3});
    REQUIRE_THROWS_WITH(ops::confusion_matrix_update(conf_f, logits, target), Catch::Contains("square (C, C) i64"));
    REQUIRE_THROWS_WITH(ops::confusion_matrix_update(conf, logits, zeros({2, 4, 5})),
                        Catch::Contains("the target must be i64, i32 or u8 labels, got f32"));
    REQUIRE_THROWS_WITH(ops::confusion_matrix_update(conf, zeros({2, 4, 6}, {DType::I64}), target),
                        Catch::Contains("must have the target's shape"));
    REQUIRE_THROWS_WITH(ops::confusion_matrix_update(conf, zeros({2, 4, 5}, {DType::Bool}), target),
                        Catch::Contains("the prediction must be i64, i32 or u8"));
    REQUIRE_THROWS_WITH(ops::confusion_matrix(logits, target, 0), Catch::Contains("number of classes"));
}
