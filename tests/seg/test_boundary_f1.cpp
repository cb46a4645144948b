// Boundary F1 (seg/metrics/boundary.h): hand-checked tiny cases (perfect, shifted by one pixel at
// tolerance 0 and 1, diagonal reach, ignore pixels, one-sided classes), the distance transform
// against brute force, and the whole metric against a brute-force implementation on random maps.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "seg/metrics/boundary.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

Tensor labels(const std::vector<int64_t>& v, int64_t h, int64_t w) { return from_vector<int64_t>(v, {h, w}); }

// Brute force, written independently of boundary.cpp: the boundary sets by the definition, and
// every distance by scanning all pixels of the other set.
seg::BoundaryStats brute_force(const Tensor& pred, const Tensor& target, int64_t c, int64_t ignore, double tol) {
    seg::BoundaryStats s(c);
    const int64_t n = target.size(0), h = target.size(1), w = target.size(2);
    for (int64_t img = 0; img < n; ++img) {
        const auto at = [&](const Tensor& t, int64_t y, int64_t x) { return t.data<int64_t>()[(img * h + y) * w + x]; };
        const auto removed = [&](int64_t y, int64_t x) { return at(target, y, x) == ignore; };
        const auto is_boundary = [&](const Tensor& t, int64_t y, int64_t x) {
            if (removed(y, x)) return false;
            const int dy[4] = {-1, 1, 0, 0}, dx[4] = {0, 0, -1, 1};
            for (int k = 0; k < 4; ++k) {
                const int64_t yy = y + dy[k], xx = x + dx[k];
                if (yy < 0 || yy >= h || xx < 0 || xx >= w || removed(yy, xx)) continue;
                if (at(t, yy, xx) != at(t, y, x)) return true;
            }
            return false;
        };
        for (int64_t k = 0; k < c; ++k) {
            std::vector<std::pair<int64_t, int64_t>> pb, gb;
            for (int64_t y = 0; y < h; ++y)
                for (int64_t x = 0; x < w; ++x) {
                    if (at(pred, y, x) == k && is_boundary(pred, y, x)) pb.push_back({y, x});
                    if (at(target, y, x) == k && is_boundary(target, y, x)) gb.push_back({y, x});
                }
            const auto matched = [&](const auto& q, const auto& src) {
                int64_t m = 0;
                for (auto [y, x] : q) {
                    double best = std::numeric_limits<double>::infinity();
                    for (auto [yy, xx] : src) best = std::min(best, std::hypot(double(y - yy), double(x - xx)));
                    m += best <= tol + 1e-9;
                }
                return m;
            };
            s.pred_boundary[size_t(k)] += int64_t(pb.size());
            s.gt_boundary[size_t(k)] += int64_t(gb.size());
            s.pred_matched[size_t(k)] += matched(pb, gb);
            s.gt_matched[size_t(k)] += matched(gb, pb);
        }
    }
    return s;
}

// Blobby random label maps: a few random rectangles painted over a background, plus ignore.
Tensor random_map(int64_t n, int64_t h, int64_t w, int64_t c, uint32_t seed, bool with_ignore) {
    std::mt19937 rng(seed);
    Tensor t = zeros({n, h, w}, {DType::I64});
    int64_t* d = t.data<int64_t>();
    for (int64_t img = 0; img < n; ++img)
        for (int r = 0; r < 6; ++r) {
            const int64_t y0 = rng() % h, x0 = rng() % w, y1 = y0 + rng() % (h / 2 + 1), x1 = x0 + rng() % (w / 2 + 1);
            const int64_t k = (with_ignore && r == 5) ? 255 : int64_t(rng() % c);
            for (int64_t y = y0; y < std::min(h, y1 + 1); ++y)
                for (int64_t x = x0; x < std::min(w, x1 + 1); ++x) d[(img * h + y) * w + x] = k;
        }
    return t;
}

}  // namespace

TEST_CASE("boundary F1: perfect prediction is 1, a one-pixel shift needs tolerance 1", "[boundary]") {
    // 4 x 4: class 0 in columns 0-1, class 1 in columns 2-3. Boundaries: column 1 (class 0) and
    // column 2 (class 1), 4 pixels each.
    const Tensor gt = labels({0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1}, 4, 4);
    seg::BoundaryF1Options opt;
    opt.num_classes = 2;
    opt.tolerance = 0;
    const seg::BoundaryStats s = seg::boundary_stats(gt, gt, opt);
    REQUIRE(s.gt_boundary == std::vector<int64_t>{4, 4});
    REQUIRE(s.pred_boundary == std::vector<int64_t>{4, 4});
    const seg::BoundaryF1Result perfect = seg::boundary_f1(s);
    REQUIRE(perfect.f1 == std::vector<double>{1.0, 1.0});
    REQUIRE(perfect.mean_f1 == 1.0);
    // The predicted edge one column to the right: boundaries in columns 2 and 3.
    const Tensor shifted = labels({0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, 4, 4);
    const seg::BoundaryF1Result r0 = seg::boundary_f1(shifted, gt, opt);
    REQUIRE(r0.precision == std::vector<double>{0.0, 0.0});
    REQUIRE(r0.recall == std::vector<double>{0.0, 0.0});
    REQUIRE(r0.mean_f1 == 0.0);
    opt.tolerance = 1;
    const seg::BoundaryF1Result r1 = seg::boundary_f1(shifted, gt, opt);
    REQUIRE(r1.f1 == std::vector<double>{1.0, 1.0});
    REQUIRE(r1.mean_f1 == 1.0);
}

TEST_CASE("boundary F1: partial matches and the diagonal", "[boundary]") {
    // 5 x 5, class 1 a single pixel at (2, 2) in the ground truth, at (3, 3) in the prediction.
    std::vector<int64_t> g(25, 0), p(25, 0);
    g[2 * 5 + 2] = 1;
    p[3 * 5 + 3] = 1;
    seg::BoundaryF1Options opt;
    opt.num_classes = 2;
    // class 1 boundary: the pixel itself; class 0 boundary: its 4 neighbours.
    opt.tolerance = 1;  // the diagonal is sqrt(2) away
    seg::BoundaryF1Result r = seg::boundary_f1(labels(p, 5, 5), labels(g, 5, 5), opt);
    REQUIRE(r.f1[1] == 0.0);
    // class 0: predicted ring {(2,3),(4,3),(3,2),(3,4)} vs true ring {(1,2),(3,2),(2,1),(2,3)}:
    // (2,3) and (3,2) coincide; (4,3) is 1 from... (3,3)? not in the true ring: nearest (3,2) at sqrt(2).
    // (3,4) nearest (2,3) at sqrt(2). So precision 2/4, recall 2/4 symmetric.
    REQUIRE(r.precision[0] == Approx(0.5));
    REQUIRE(r.recall[0] == Approx(0.5));
    REQUIRE(r.f1[0] == Approx(0.5));
    REQUIRE(r.mean_f1 == Approx(0.25));
    opt.tolerance = std::sqrt(2.0);
    r = seg::boundary_f1(labels(p, 5, 5), labels(g, 5, 5), opt);
    REQUIRE(r.f1[1] == 1.0);
    REQUIRE(r.f1[0] == 1.0);
}

TEST_CASE("boundary F1: ignore pixels make no boundary and are not evaluated", "[boundary]") {
    // 5 x 5: class 0 everywhere but column 4 (class 1); the centre pixel is ignored in the ground
    // truth and predicted as class 1 there (a blob that must not count).
    std::vector<int64_t> g(25, 0), p(25, 0);
    for (int y = 0; y < 5; ++y) g[size_t(y * 5 + 4)] = p[size_t(y * 5 + 4)] = 1;
    g[12] = 255;
    p[12] = 1;
    seg::BoundaryF1Options opt;
    opt.num_classes = 2;
    opt.tolerance = 0;
    const seg::BoundaryStats s = seg::boundary_stats(labels(p, 5, 5), labels(g, 5, 5), opt);
    REQUIRE(s.gt_boundary == std::vector<int64_t>{5, 5});
    REQUIRE(s.pred_boundary == std::vector<int64_t>{5, 5});
    REQUIRE(seg::boundary_f1(s).mean_f1 == 1.0);
    // u8 inputs and a batch dim work the same
    REQUIRE(seg::boundary_f1(labels(p, 5, 5).to(DType::U8).reshape({1, 5, 5}),
                             labels(g, 5, 5).to(DType::U8).reshape({1, 5, 5}), opt)
                .mean_f1 == 1.0);
}

TEST_CASE("boundary F1: one-sided classes, no boundaries, bad input", "[boundary]") {
    seg::BoundaryF1Options opt;
    opt.num_classes = 3;
    std::vector<int64_t> g(25, 0), p(25, 0);
    p[12] = 1;  // a false blob; the ground truth has no boundary at all
    const seg::BoundaryF1Result r = seg::boundary_f1(labels(p, 5, 5), labels(g, 5, 5), opt);
    REQUIRE(r.precision[0] == 0.0);
    REQUIRE(r.precision[1] == 0.0);
    REQUIRE(std::isnan(r.recall[0]));
    REQUIRE(r.f1[0] == 0.0);
    REQUIRE(r.f1[1] == 0.0);
    REQUIRE(std::isnan(r.f1[2]));  // no boundary of class 2 anywhere: excluded
    REQUIRE(r.classes_evaluated == 2);
    REQUIRE(r.mean_f1 == 0.0);
    const seg::BoundaryF1Result none = seg::boundary_f1(labels(g, 5, 5), labels(g, 5, 5), opt);
    REQUIRE(std::isnan(none.mean_f1));
    REQUIRE(none.classes_evaluated == 0);
    g[3] = 7;
    REQUIRE_THROWS_WITH(seg::boundary_f1(labels(p, 5, 5), labels(g, 5, 5), opt),
                        Catch::Contains("ground-truth label 7 at (n=0, h=0, w=3)"));
    REQUIRE_THROWS_WITH(seg::boundary_f1(zeros({5, 5}), labels(p, 5, 5), opt), Catch::Contains("integer label maps"));
    opt.tolerance = -1;
    REQUIRE_THROWS_WITH(seg::boundary_f1(labels(p, 5, 5), labels(p, 5, 5), opt), Catch::Contains("tolerance"));
}

TEST_CASE("squared distance transform against brute force", "[boundary]") {
    std::mt19937 rng(3);
    for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {1, 9}, {7, 1}, {13, 17}, {32, 5}}) {
        std::vector<uint8_t> mask(size_t(h * w));
        for (auto& m : mask) m = rng() % 11 == 0;
        mask[size_t(rng() % (h * w))] = 1;
        const auto d = seg::squared_distance_transform(mask, h, w);
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) {
                double best = std::numeric_limits<double>::infinity();
                for (int64_t yy = 0; yy < h; ++yy)
                    for (int64_t xx = 0; xx < w; ++xx)
                        if (mask[size_t(yy * w + xx)])
                            best = std::min(best, double((y - yy) * (y - yy) + (x - xx) * (x - xx)));
                REQUIRE(d[size_t(y * w + x)] == best);
            }
    }
    const auto empty_mask = seg::squared_distance_transform(std::vector<uint8_t>(6, 0), 2, 3);
    REQUIRE(std::isinf(empty_mask[0]));
}

TEST_CASE("boundary F1 against brute force on random maps", "[boundary]") {
    const int64_t c = 4;
    for (uint32_t seed = 0; seed < 4; ++seed) {
        const Tensor gt = random_map(2, 19, 23, c, seed, true);
        Tensor pred = random_map(2, 19, 23, c, seed + 100, false);
        // make the prediction resemble the target in half the pixels
        for (int64_t i = 0; i < pred.numel(); i += 2)
            if (gt.data<int64_t>()[i] != 255) pred.data<int64_t>()[i] = gt.data<int64_t>()[i];
        for (double tol : {0.0, 1.0, 1.5, 2.0, 3.0}) {
            INFO("seed " << seed << " tolerance " << tol);
            seg::BoundaryF1Options opt;
            opt.num_classes = c;
            opt.tolerance = tol;
            const seg::BoundaryStats s = seg::boundary_stats(pred, gt, opt);
            const seg::BoundaryStats b = brute_force(pred, gt, c, 255, tol);
            REQUIRE(s.pred_boundary == b.pred_boundary);
            REQUIRE(s.gt_boundary == b.gt_boundary);
            REQUIRE(s.pred_matched == b.pred_matched);
            REQUIRE(s.gt_matched == b.gt_matched);
            // the accumulator over single images gives the same totals
            seg::BoundaryF1Accumulator acc(opt);
            acc.update(pred.narrow(0, 0, 1), gt.narrow(0, 0, 1));
            acc.update(pred.narrow(0, 1, 1), gt.narrow(0, 1, 1));
            REQUIRE(acc.stats().pred_matched == b.pred_matched);
            REQUIRE(acc.compute().mean_f1 == Approx(seg::boundary_f1(b).mean_f1));
        }
    }
}

TEST_CASE("boundary F1 accumulator takes logits", "[boundary]") {
    const Tensor gt = random_map(1, 11, 13, 3, 9, false);
    // one-hot logits of the ground truth: a perfect prediction
    Tensor logits = zeros({1, 3, 11, 13});
    for (int64_t i = 0; i < 11 * 13; ++i) logits.data<float>()[gt.data<int64_t>()[i] * 11 * 13 + i] = 1.f;
    seg::BoundaryF1Options opt;
    opt.num_classes = 3;
    opt.tolerance = 0;
    seg::BoundaryF1Accumulator acc(opt);
    acc.update(logits, gt);
    const auto r = acc.compute();
    if (r.classes_evaluated > 0) REQUIRE(r.mean_f1 == 1.0);
}
