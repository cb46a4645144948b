// Region losses (kernels/loss/dice.h, kernels/loss/lovasz.h) against naive loops in double: the
// loss straight from the formulas, the gradient by central differences of that naive loss (an
// independent check of the analytic backward). Every option; all pixels ignored; one class; 1x1
// images; i32/u8 labels; 16-bit logits; bad labels.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using kernels::DiceVariant;

namespace {

struct Problem {
    int64_t n, c, hw;
    std::vector<double> x;       // (N, C, HW)
    std::vector<int64_t> label;  // (N, HW)
};

Problem problem_of(const Tensor& logits, const Tensor& labels) {
    Problem pr;
    pr.n = logits.size(0);
    pr.c = logits.size(1);
    pr.hw = logits.numel() / (pr.n * pr.c);
    const Tensor x = logits.to(DType::F64).contiguous(), l = labels.to(DType::I64).contiguous();
    pr.x.assign(x.data<double>(), x.data<double>() + x.numel());
    pr.label.assign(l.data<int64_t>(), l.data<int64_t>() + l.numel());
    return pr;
}

// p[(n, c, j)] softmax over c.
std::vector<double> softmax(const Problem& pr) {
    std::vector<double> p(pr.x.size());
    for (int64_t n = 0; n < pr.n; ++n)
        for (int64_t j = 0; j < pr.hw; ++j) {
            double m = -INFINITY, s = 0;
            for (int64_t c = 0; c < pr.c; ++c) m = std::max(m, pr.x[size_t((n * pr.c + c) * pr.hw + j)]);
            for (int64_t c = 0; c < pr.c; ++c) s += std::exp(pr.x[size_t((n * pr.c + c) * pr.hw + j)] - m);
            for (int64_t c = 0; c < pr.c; ++c)
                p[size_t((n * pr.c + c) * pr.hw + j)] = std::exp(pr.x[size_t((n * pr.c + c) * pr.hw + j)] - m) / s;
        }
    return p;
}

double naive_dice(const Problem& pr, const ops::DiceLossOptions& o) {
    const std::vector<double> p = softmax(pr);
    const double s = o.resolved_smooth();
    std::vector<double> I(size_t(pr.c), 0), P(size_t(pr.c), 0), G(size_t(pr.c), 0);
    for (int64_t n = 0; n < pr.n; ++n)
        for (int64_t j = 0; j < pr.hw; ++j) {
            const int64_t l = pr.label[size_t(n * pr.hw + j)];
            if (l == o.ignore_index) continue;
            for (int64_t c = 0; c < pr.c; ++c) {
                const double pc = p[size_t((n * pr.c + c) * pr.hw + j)], g = l == c ? 1.0 : 0.0;
                I[size_t(c)] += pc * g;
                P[size_t(c)] += pc;
                G[size_t(c)] += g;
            }
        }
    std::vector<int64_t> K;
    for (int64_t c = 0; c < pr.c; ++c)
        if ((c > 0 || o.include_background) && (!o.present_only || G[size_t(c)] > 0)) K.push_back(c);
    if (K.empty()) return 0.0;
    if (o.variant == DiceVariant::Generalized) {
        double num = s, den = s;
        for (int64_t c : K) {
            const double w = 1.0 / std::pow(std::max(G[size_t(c)], o.weight_clamp), 2);
            num += 2 * w * I[size_t(c)];
            den += w * (P[size_t(c)] + G[size_t(c)]);
        }
        return den == 0 ? 0.0 : 1.0 - num / den;
    }
    double total = 0;
    for (int64_t c : K) {
        const double i = I[size_t(c)], pp = P[size_t(c)], g = G[size_t(c)];
        double num, den;
        if (o.variant == DiceVariant::Dice) {
            num = 2 * i + s;
            den = pp + g + s;
        } else {
            const double fp = pp - i, fn = g - i;  // sum p (1 - g), sum (1 - p) g
            num = i + s;
            den = i + o.alpha * fp + o.beta * fn + s;
        }
        total += den == 0 ? 1.0 : num / den;
    }
    return 1.0 - total / double(K.size());
}

// The reference implementation's lovasz_softmax_flat, line by line.
double naive_lovasz(const Problem& pr, const ops::LovaszOptions& o) {
    const std::vector<double> p = softmax(pr);
    std::vector<int64_t> valid;
    for (int64_t q = 0; q < pr.n * pr.hw; ++q)
        if (pr.label[size_t(q)] != o.ignore_index) valid.push_back(q);
    if (valid.empty()) return 0.0;
    double total = 0;
    int64_t counted = 0;
    for (int64_t c = 0; c < pr.c; ++c) {
        if (c == 0 && !o.include_background) continue;
        std::vector<double> fg, err;
        for (int64_t q : valid) {
            const int64_t n = q / pr.hw, j = q % pr.hw;
            fg.push_back(pr.label[size_t(q)] == c ? 1.0 : 0.0);
            err.push_back(std::abs(fg.back() - p[size_t((n * pr.c + c) * pr.hw + j)]));
        }
        const double gts = std::accumulate(fg.begin(), fg.end(), 0.0);
        if (o.present_only && gts == 0) continue;
        std::vector<size_t> perm(err.size());
        std::iota(perm.begin(), perm.end(), size_t(0));
        std::stable_sort(perm.begin(), perm.end(), [&](size_t a, size_t b) { return err[a] > err[b]; });
        std::vector<double> jac(perm.size());
        double cf = 0;
        for (size_t k = 0; k < perm.size(); ++k) {
            cf += fg[perm[k]];
            jac[k] = 1.0 - (gts - cf) / (gts + double(k + 1) - cf);
        }
        double lc = 0;
        for (size_t k = 0; k < perm.size(); ++k) lc += err[perm[k]] * (k ? jac[k] - jac[k - 1] : jac[0]);
        total += lc;
        ++counted;
    }
    return counted ? total / double(counted) : 0.0;
}

// Central differences of a naive loss with respect to every logit.
template <typename F>
Tensor numeric_grad(Problem pr, F&& loss) {
    Tensor g = empty({int64_t(pr.x.size())}, {DType::F64});
    const double eps = 1e-6;
    for (size_t i = 0; i < pr.x.size(); ++i) {
        const double v = pr.x[i];
        pr.x[i] = v + eps;
        const double lp = loss(pr);
        pr.x[i] = v - eps;
        const double lm = loss(pr);
        pr.x[i] = v;
        g.data<double>()[i] = (lp - lm) / (2 * eps);
    }
    return g;
}

Tensor scalar(double v, DType t = DType::F64) { return full({}, v, {t}); }

// Labels in [0, C) with about `ignored` of them set to ignore_index.
Tensor make_labels(const Shape& shape, int64_t c, double ignored, uint32_t seed, int64_t ignore_index = 255) {
    Tensor u = test::random_tensor(shape, DType::F64, 0, 1, seed);
    Tensor v = test::random_tensor(shape, DType::F64, 0, double(c), seed + 1000);
    Tensor l = empty(shape, {DType::I64});
    for (int64_t i = 0; i < l.numel(); ++i)
        l.data<int64_t>()[i] = u.data<double>()[i] < ignored ? ignore_index
                                                              : std::min<int64_t>(c - 1, int64_t(v.data<double>()[i]));
    return l;
}

void check_dice(const Tensor& logits, const Tensor& labels, const ops::DiceLossOptions& o) {
    const Problem pr = problem_of(logits, labels);
    const double want = naive_dice(pr, o);
    const auto r = ops::dice_loss(logits, labels, o);
    REQUIRE(r.loss.dtype() == DType::F64);
    REQUIRE(r.loss.item_double() == Approx(want).margin(1e-12));
    const Tensor dx = ops::dice_loss_backward(scalar(1.0), logits, labels, r.stats, o);
    const Tensor num = numeric_grad(pr, [&](const Problem& q) { return naive_dice(q, o); });
    REQUIRE_CLOSE(dx.flatten(), num, (test::Tolerance{1e-7, 1e-5}));
    // The upstream gradient scales linearly.
    const Tensor dx2 = ops::dice_loss_backward(scalar(-2.5), logits, labels, r.stats, o);
    REQUIRE_CLOSE(dx2.flatten(), ops::mul(num, -2.5), (test::Tolerance{1e-7, 1e-5}));
}

void check_lovasz(const Tensor& logits, const Tensor& labels, const ops::LovaszOptions& o) {
    const Problem pr = problem_of(logits, labels);
    const double want = naive_lovasz(pr, o);
    const auto r = ops::lovasz_softmax(logits, labels, o, true);
    REQUIRE(r.loss.item_double() == Approx(want).margin(1e-12));
    REQUIRE(ops::lovasz_softmax(logits, labels, o, false).loss.item_double() == r.loss.item_double());
    const Tensor dx = ops::lovasz_softmax_backward(scalar(1.0), logits, r.dldp);
    const Tensor num = numeric_grad(pr, [&](const Problem& q) { return naive_lovasz(q, o); });
    REQUIRE_CLOSE(dx.flatten(), num, (test::Tolerance{1e-7, 1e-5}));
}

}  // namespace

TEST_CASE("dice family: every option against naive loops", "[kernels][loss][dice]") {
    for (const Shape& shape : {Shape{2, 4, 3, 5}, Shape{1, 3, 7, 2}, Shape{3, 2, 1, 1}}) {
        const int64_t c = shape[1];
        const Shape ls{shape[0], shape[2], shape[3]};
        const Tensor x = test::random_tensor(shape, DType::F64, -3, 3, 11);
        for (double ignored : {0.0, 0.3}) {
            const Tensor l = make_labels(ls, c, ignored, 12);
            for (DiceVariant v : {DiceVariant::Dice, DiceVariant::Generalized, DiceVariant::Tversky})
                for (bool bg : {true, false})
                    for (bool present : {false, true})
                        for (double smooth : {-1.0, 0.0, 0.7}) {
                            ops::DiceLossOptions o;
                            o.variant = v;
                            o.include_background = bg;
                            o.present_only = present;
                            o.smooth = smooth;
                            o.alpha = 0.3;
                            o.beta = 0.7;
                            INFO(shape_str(shape) << " ignored " << ignored << " " << kernels::dice_variant_name(v)
                                                  << " bg " << bg << " present " << present << " smooth " << smooth);
                            check_dice(x, l, o);
                        }
        }
    }
}

TEST_CASE("dice family: tversky 0.5/0.5 is dice without smoothing; ignore_index other than 255", "[kernels][loss][dice]") {
    const Tensor x = test::random_tensor({2, 5, 4, 6}, DType::F64, -2, 2, 21);
    const Tensor l = make_labels({2, 4, 6}, 5, 0.2, 22, -1);
    ops::DiceLossOptions d, t;
    d.ignore_index = t.ignore_index = -1;
    t.variant = DiceVariant::Tversky;
    d.smooth = t.smooth = 0;
    REQUIRE(ops::dice_loss(x, l, d).loss.item_double() == Approx(ops::dice_loss(x, l, t).loss.item_double()));
    check_dice(x, l, d);
}

TEST_CASE("dice family: edge cases", "[kernels][loss][dice]") {
    SECTION("all pixels ignored: every class is empty against empty") {
        const Tensor x = test::random_tensor({2, 3, 4, 4}, DType::F64, -2, 2, 31);
        const Tensor l = full({2, 4, 4}, 255, {DType::I64});
        for (DiceVariant v : {DiceVariant::Dice, DiceVariant::Generalized, DiceVariant::Tversky})
            for (bool present : {false, true}) {
                ops::DiceLossOptions o;
                o.variant = v;
                o.present_only = present;
                const auto r = ops::dice_loss(x, l, o);
                REQUIRE(r.loss.item_double() == 0.0);
                const Tensor dx = ops::dice_loss_backward(scalar(1.0), x, l, r.stats, o);
                REQUIRE_CLOSE(dx, zeros(x.shape(), {DType::F64}), (test::Tolerance{0, 0}));
                o.smooth = 0;  // 0/0 counts as 1
                REQUIRE(ops::dice_loss(x, l, o).loss.item_double() == 0.0);
            }
    }
    SECTION("one class: p = 1 everywhere, a perfect score") {
        const Tensor x = test::random_tensor({2, 1, 3, 3}, DType::F64, -2, 2, 32);
        const Tensor l = zeros({2, 3, 3}, {DType::I64});
        for (DiceVariant v : {DiceVariant::Dice, DiceVariant::Generalized, DiceVariant::Tversky}) {
            ops::DiceLossOptions o;
            o.variant = v;
            REQUIRE(ops::dice_loss(x, l, o).loss.item_double() == Approx(0.0).margin(1e-12));
            check_dice(x, l, o);
        }
    }
    SECTION("1x1 images, and 1-D pixels (N, C)") {
        const Tensor x = test::random_tensor({3, 4, 1, 1}, DType::F64, -2, 2, 33);
        const Tensor l = from_vector<int64_t>({2, 255, 0}, {3, 1, 1});
        check_dice(x, l, {});
        const Tensor x2 = test::random_tensor({5, 3}, DType::F64, -2, 2, 34);
        const Tensor l2 = from_vector<int64_t>({2, 1, 0, 0, 255}, {5});
        check_dice(x2, l2, {});
    }
    SECTION("i32 and u8 labels give the i64 answer; f32 is close to f64") {
        const Tensor x = test::random_tensor({2, 4, 5, 3}, DType::F64, -2, 2, 35);
        const Tensor l = make_labels({2, 5, 3}, 4, 0.2, 36);
        for (DiceVariant v : {DiceVariant::Dice, DiceVariant::Generalized, DiceVariant::Tversky}) {
            ops::DiceLossOptions o;
            o.variant = v;
            const auto r = ops::dice_loss(x, l, o);
            for (DType lt : {DType::I32, DType::U8}) {
                const auto r2 = ops::dice_loss(x, l.to(lt), o);
                REQUIRE(r2.loss.item_double() == r.loss.item_double());
            }
            const auto rf = ops::dice_loss(x.to(DType::F32), l.to(DType::U8), o);
            REQUIRE(rf.loss.dtype() == DType::F32);
            REQUIRE(rf.loss.item_double() == Approx(r.loss.item_double()).margin(1e-6));
            REQUIRE_CLOSE(rf.stats, r.stats, (test::Tolerance{1e-5, 1e-5}));
            const Tensor dx = ops::dice_loss_backward(scalar(1.0), x, l, r.stats, o);
            const Tensor dxf = ops::dice_loss_backward(scalar(1.0, DType::F32), x.to(DType::F32), l, rf.stats, o);
            REQUIRE_CLOSE(dxf, dx, (test::Tolerance{1e-6, 1e-4}));
            for (DType h : {DType::F16, DType::BF16}) {
                const Tensor xh = x.to(h);
                const auto rh = ops::dice_loss(xh, l, o);
                REQUIRE(rh.loss.dtype() == DType::F32);
                const auto rr = ops::dice_loss(xh.to(DType::F32), l, o);  // the same 16-bit values in f32
                REQUIRE(rh.loss.item_double() == Approx(rr.loss.item_double()).margin(1e-6));
                const Tensor dxh = ops::dice_loss_backward(scalar(1.0, DType::F32), xh, l, rh.stats, o);
                REQUIRE(dxh.dtype() == h);
                const Tensor dxr = ops::dice_loss_backward(scalar(1.0, DType::F32), xh.to(DType::F32), l, rr.stats, o);
                REQUIRE_CLOSE(dxh, dxr, test::tolerance_for(h));
            }
        }
    }
    SECTION("non-contiguous logits") {
        const Tensor base = test::random_tensor({2, 3, 6, 5}, DType::F64, -2, 2, 37);
        const Tensor x = base.transpose(2, 3);  // (2, 3, 5, 6) view
        const Tensor l = make_labels({2, 5, 6}, 3, 0.1, 38);
        check_dice(x, l, {});
        REQUIRE(ops::dice_loss(x, l).loss.item_double() == ops::dice_loss(x.contiguous(), l).loss.item_double());
    }
}

TEST_CASE("lovasz-softmax: options against the reference algorithm", "[kernels][loss][lovasz]") {
    for (const Shape& shape : {Shape{2, 4, 3, 5}, Shape{1, 3, 7, 2}, Shape{3, 2, 1, 1}}) {
        const int64_t c = shape[1];
        const Tensor x = test::random_tensor(shape, DType::F64, -3, 3, 41);
        for (double ignored : {0.0, 0.3}) {
            const Tensor l = make_labels({shape[0], shape[2], shape[3]}, c, ignored, 42);
            for (bool present : {true, false})
                for (bool bg : {true, false}) {
                    ops::LovaszOptions o;
                    o.present_only = present;
                    o.include_background = bg;
                    INFO(shape_str(shape) << " ignored " << ignored << " present " << present << " bg " << bg);
                    check_lovasz(x, l, o);
                }
        }
    }
}

TEST_CASE("lovasz-softmax: edge cases, dtypes", "[kernels][loss][lovasz]") {
    const Tensor x = test::random_tensor({2, 3, 4, 4}, DType::F64, -2, 2, 51);
    SECTION("all ignored") {
        const Tensor l = full({2, 4, 4}, 255, {DType::U8});
        const auto r = ops::lovasz_softmax(x, l, {}, true);
        REQUIRE(r.loss.item_double() == 0.0);
        REQUIRE_CLOSE(ops::lovasz_softmax_backward(scalar(1.0), x, r.dldp), zeros(x.shape(), {DType::F64}),
                      (test::Tolerance{0, 0}));
    }
    SECTION("one class present; 1x1; labels i32") {
        const Tensor l = full({2, 4, 4}, 1, {DType::I32});
        check_lovasz(x, l, {});
        ops::LovaszOptions all;
        all.present_only = false;
        check_lovasz(x, l, all);
        const Tensor x1 = test::random_tensor({1, 3, 1, 1}, DType::F64, -2, 2, 52);
        check_lovasz(x1, from_vector<int64_t>({2}, {1, 1, 1}), {});
    }
    SECTION("f32 and 16-bit against f64") {
        const Tensor l = make_labels({2, 4, 4}, 3, 0.2, 53);
        const auto r = ops::lovasz_softmax(x, l, {}, true);
        const auto rf = ops::lovasz_softmax(x.to(DType::F32), l, {}, true);
        REQUIRE(rf.loss.item_double() == Approx(r.loss.item_double()).margin(1e-6));
        REQUIRE_CLOSE(ops::lovasz_softmax_backward(scalar(1.0, DType::F32), x.to(DType::F32), rf.dldp),
                      ops::lovasz_softmax_backward(scalar(1.0), x, r.dldp), (test::Tolerance{1e-6, 1e-4}));
        const Tensor xh = x.to(DType::BF16);
        const auto rh = ops::lovasz_softmax(xh, l, {}, true);
        REQUIRE(rh.loss.item_double() ==
                Approx(ops::lovasz_softmax(xh.to(DType::F32), l).loss.item_double()).margin(1e-6));
        REQUIRE(ops::lovasz_softmax_backward(scalar(1.0, DType::F32), xh, rh.dldp).dtype() == DType::BF16);
    }
}

TEST_CASE("region losses: bad input", "[kernels][loss][dice][lovasz]") {
    const Tensor x = test::random_tensor({2, 3, 4, 5}, DType::F32, -2, 2, 61);
    Tensor l = zeros({2, 4, 5}, {DType::I64});
    l.data<int64_t>()[1 * 20 + 2 * 5 + 3] = 7;
    REQUIRE_THROWS_WITH(ops::dice_loss(x, l),
                        Catch::Contains("label 7 at (1, 2, 3) is outside [0, 3) and is not the ignore_index 255"));
    REQUIRE_THROWS_WITH(ops::lovasz_softmax(x, l), Catch::Contains("label 7 at (1, 2, 3)"));
    l.data<int64_t>()[1 * 20 + 2 * 5 + 3] = -1;
    REQUIRE_THROWS_WITH(ops::dice_loss(x, l), Catch::Contains("label -1 at (1, 2, 3)"));
    // The first bad pixel in flat order is named.
    l.data<int64_t>()[3] = 3;
    REQUIRE_THROWS_WITH(ops::dice_loss(x, l.to(DType::I32)), Catch::Contains("label 3 at (0, 0, 3)"));
    REQUIRE_THROWS_WITH(ops::dice_loss(x, zeros({2, 4, 6}, {DType::I64})),
                        Catch::Contains("labels must be (2, 4, 5)"));
    REQUIRE_THROWS_WITH(ops::dice_loss(x, zeros({2, 4, 5}, {DType::F32})),
                        Catch::Contains("labels must be i64, i32 or u8 class indices, got f32"));
    REQUIRE_THROWS_WITH(ops::lovasz_softmax(zeros({2, 4, 5}, {DType::I64}), zeros({2, 5}, {DType::I64})),
                        Catch::Contains("lovasz_softmax"));
    ops::DiceLossOptions o;
    o.variant = DiceVariant::Tversky;
    o.alpha = -1;
    REQUIRE_THROWS_WITH(ops::dice_loss(x, zeros({2, 4, 5}, {DType::I64}), o), Catch::Contains("alpha"));
    ops::DiceLossOptions nb;
    nb.include_background = false;
    REQUIRE_THROWS_WITH(ops::dice_loss(zeros({2, 1, 3}, {DType::F32}), zeros({2, 3}, {DType::I64}), nb),
                        Catch::Contains("include_background"));
}
