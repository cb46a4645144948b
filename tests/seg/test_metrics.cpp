// Segmentation metrics (seg/metrics/metrics.h): hand-computed values for small matrices, the
// absent-class exclusion rule, an independent implementation from boolean masks on random data,
// MetricAccumulator (update from logits and labels, merge, reset, state round trip, invalid
// labels) and the class table.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "kernels/ops.h"
#include "seg/metrics/metrics.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

bool is_nan(double v) { return std::isnan(v); }

Tensor random_labels(const Shape& s, int64_t c, int64_t ignore, double ignore_frac, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> cls(0, c - 1);
    std::uniform_real_distribution<double> u(0, 1);
    Tensor t = empty(s, {DType::I64});
    for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = u(rng) < ignore_frac ? ignore : cls(rng);
    return t;
}

// Predictions that agree with the target most of the time, never predict `never`, and leave
// class `absent` out of both maps (mapped to class 0).
Tensor noisy_prediction(const Tensor& target, int64_t c, double flip, uint32_t seed, int64_t never) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> cls(0, c - 1);
    std::uniform_real_distribution<double> u(0, 1);
    Tensor p = empty(target.shape(), {DType::I64});
    for (int64_t i = 0; i < p.numel(); ++i) {
        int64_t t = target.data<int64_t>()[i];
        int64_t v = (t < 0 || t >= c || u(rng) < flip) ? cls(rng) : t;
        if (v == never) v = (v + 1) % c;
        p.data<int64_t>()[i] = v;
    }
    return p;
}

}  // namespace

TEST_CASE("metrics of a hand-computed matrix with an absent class", "[metrics]") {
    // rows = ground truth, cols = prediction; class 2 appears in neither
    const std::vector<int64_t> m = {3, 1, 0,  //
                                    2, 4, 0,  //
                                    0, 0, 0};
    const seg::SegMetrics r = seg::compute_metrics(from_vector<int64_t>(m, {3, 3}));
    REQUIRE(r.total == 10);
    REQUIRE(r.classes_evaluated == 2);
    REQUIRE(r.iou[0] == Approx(0.5));
    REQUIRE(r.iou[1] == Approx(4.0 / 7));
    REQUIRE(is_nan(r.iou[2]));
    REQUIRE_FALSE(r.present[2]);
    REQUIRE(r.miou == Approx(15.0 / 28));  // (1/2 + 4/7) / 2: class 2 excluded
    REQUIRE(r.pixel_accuracy == Approx(0.7));
    REQUIRE(r.recall[0] == Approx(0.75));
    REQUIRE(r.recall[1] == Approx(4.0 / 6));
    REQUIRE(r.accuracy(1) == Approx(4.0 / 6));
    REQUIRE(r.mean_accuracy == Approx(17.0 / 24));
    REQUIRE(r.precision[0] == Approx(0.6));
    REQUIRE(r.precision[1] == Approx(0.8));
    REQUIRE(is_nan(r.precision[2]));
    REQUIRE(r.dice[0] == Approx(2.0 / 3));
    REQUIRE(r.dice[1] == Approx(8.0 / 11));
    REQUIRE(r.mean_dice == Approx(23.0 / 33));
    REQUIRE(r.fwiou == Approx(19.0 / 35));
    REQUIRE(r.gt_pixels == std::vector<int64_t>{4, 6, 0});
    REQUIRE(r.pred_pixels == std::vector<int64_t>{5, 5, 0});
    REQUIRE(r.true_positive == std::vector<int64_t>{3, 4, 0});
    // The rule: the same numbers as the 2-class matrix without class 2.
    const seg::SegMetrics r2 = seg::compute_metrics(std::vector<int64_t>{3, 1, 2, 4}, 2);
    REQUIRE(r2.miou == Approx(r.miou));
    REQUIRE(r2.mean_dice == Approx(r.mean_dice));
    REQUIRE(r2.mean_accuracy == Approx(r.mean_accuracy));
    REQUIRE(r2.fwiou == Approx(r.fwiou));
}

TEST_CASE("a class predicted but absent from the ground truth counts as IoU 0", "[metrics]") {
    const std::vector<int64_t> m = {2, 0, 1,  //
                                    0, 0, 0,  //
                                    0, 0, 0};
    const seg::SegMetrics r = seg::compute_metrics(m, 3);
    REQUIRE(r.iou[0] == Approx(2.0 / 3));
    REQUIRE(is_nan(r.iou[1]));  // absent from both: excluded
    REQUIRE(r.iou[2] == 0.0);   // a false-positive class: included
    REQUIRE(r.present == std::vector<bool>{true, false, true});
    REQUIRE(r.miou == Approx(1.0 / 3));
    REQUIRE(r.dice[2] == 0.0);
    REQUIRE(r.mean_dice == Approx(0.4));
    REQUIRE(r.precision[2] == 0.0);
    REQUIRE(is_nan(r.recall[2]));  // 0 / 0: excluded from mean accuracy
    REQUIRE(r.mean_accuracy == Approx(2.0 / 3));
    REQUIRE(r.pixel_accuracy == Approx(2.0 / 3));
    REQUIRE(r.fwiou == Approx(2.0 / 3));
}

TEST_CASE("metrics of an empty matrix and a perfect one", "[metrics]") {
    const seg::SegMetrics e = seg::compute_metrics(std::vector<int64_t>(4, 0), 2);
    REQUIRE(e.total == 0);
    REQUIRE(is_nan(e.miou));
    REQUIRE(is_nan(e.pixel_accuracy));
    REQUIRE(is_nan(e.mean_accuracy));
    REQUIRE(is_nan(e.fwiou));
    REQUIRE(e.classes_evaluated == 0);
    const seg::SegMetrics p = seg::compute_metrics(std::vector<int64_t>{5, 0, 0, 0, 7, 0, 0, 0, 0}, 3);
    REQUIRE(p.miou == 1.0);
    REQUIRE(p.pixel_accuracy == 1.0);
    REQUIRE(p.mean_dice == 1.0);
    REQUIRE(p.fwiou == 1.0);
    REQUIRE_THROWS_WITH(seg::compute_metrics(std::vector<int64_t>{1, 2, 3}, 2), Catch::Contains("expected 2 x 2"));
    REQUIRE_THROWS_WITH(seg::compute_metrics(zeros({2, 3}, {DType::I64})), Catch::Contains("square (C, C) i64"));
}

TEST_CASE("metrics agree with an independent computation from boolean masks", "[metrics]") {
    const int64_t c = 6, ignore = 255;
    const int64_t absent = 4;  // never in the target, never predicted
    seg::MetricAccumulator acc(c, ignore);
    std::vector<double> inter(c, 0), uni(c, 0), gt(c, 0), pr(c, 0);
    double correct = 0, valid = 0;
    for (uint32_t b = 0; b < 3; ++b) {
        Tensor target = random_labels({2, 23, 19}, c, ignore, 0.15, 10 + b);
        for (int64_t i = 0; i < target.numel(); ++i)
            if (target.data<int64_t>()[i] == absent) target.data<int64_t>()[i] = 5;
        const Tensor pred = noisy_prediction(target, c, 0.4, 20 + b, absent);
        acc.update(pred, target);
        // Per class: boolean masks of valid pixels, intersection and union counted directly.
        for (int64_t k = 0; k < c; ++k)
            for (int64_t i = 0; i < target.numel(); ++i) {
                const int64_t t = target.data<int64_t>()[i], p = pred.data<int64_t>()[i];
                if (t == ignore) continue;
                const bool in_gt = t == k, in_pred = p == k;
                inter[size_t(k)] += in_gt && in_pred;
                uni[size_t(k)] += in_gt || in_pred;
                gt[size_t(k)] += in_gt;
                pr[size_t(k)] += in_pred;
            }
        for (int64_t i = 0; i < target.numel(); ++i) {
            const int64_t t = target.data<int64_t>()[i];
            if (t == ignore) continue;
            valid += 1;
            correct += t == pred.data<int64_t>()[i];
        }
    }
    const seg::SegMetrics r = acc.compute();
    double miou = 0, mdice = 0, macc = 0;
    int64_t n_iou = 0, n_acc = 0;
    for (int64_t k = 0; k < c; ++k) {
        const size_t i = size_t(k);
        if (uni[i] > 0) {
            REQUIRE(r.iou[i] == Approx(inter[i] / uni[i]));
            REQUIRE(r.dice[i] == Approx(2 * inter[i] / (gt[i] + pr[i])));
            miou += inter[i] / uni[i];
            mdice += 2 * inter[i] / (gt[i] + pr[i]);
            ++n_iou;
        } else {
            REQUIRE(is_nan(r.iou[i]));
        }
        if (gt[i] > 0) {
            REQUIRE(r.recall[i] == Approx(inter[i] / gt[i]));
            macc += inter[i] / gt[i];
            ++n_acc;
        }
        if (pr[i] > 0) REQUIRE(r.precision[i] == Approx(inter[i] / pr[i]));
    }
    REQUIRE(n_iou == c - 1);  // the absent class is out
    REQUIRE(is_nan(r.iou[size_t(absent)]));
    REQUIRE(r.miou == Approx(miou / double(n_iou)));
    REQUIRE(r.mean_dice == Approx(mdice / double(n_iou)));
    REQUIRE(r.mean_accuracy == Approx(macc / double(n_acc)));
    REQUIRE(r.pixel_accuracy == Approx(correct / valid));
    REQUIRE(double(r.total) == valid);
}

TEST_CASE("MetricAccumulator: logits, merge, reset, state", "[metrics]") {
    const int64_t c = 5;
    std::vector<Tensor> logits, targets;
    for (uint32_t b = 0; b < 4; ++b) {
        logits.push_back(test::random_tensor({2, c, 8, 9}, DType::F32, -2, 2, 40 + b));
        targets.push_back(random_labels({2, 8, 9}, c, 255, 0.1, 50 + b));
    }
    seg::MetricAccumulator all(c), even(c), odd(c);
    for (size_t b = 0; b < logits.size(); ++b) {
        all.update(logits[b], targets[b]);
        (b % 2 ? odd : even).update(logits[b], targets[b]);
    }
    // the logits path equals the argmax-labels path
    seg::MetricAccumulator via_labels(c);
    for (size_t b = 0; b < logits.size(); ++b)
        via_labels.update(ops::argmax(logits[b], 1).to(DType::U8), targets[b].to(DType::I32));
    const auto same = [](const Tensor& a, const Tensor& b) { return test::compare(a, b, {0, 0}).empty(); };
    REQUIRE(same(via_labels.confusion(), all.confusion()));
    // data parallel: two replicas merged give the single-pass counts
    even.merge(odd);
    REQUIRE(same(even.confusion(), all.confusion()));
    REQUIRE(even.compute().miou == all.compute().miou);
    // checkpoint round trip
    seg::MetricAccumulator restored(c);
    restored.load_state(all.state(), all.status());
    REQUIRE(same(restored.confusion(), all.confusion()));
    restored.update(logits[0], targets[0]);
    all.update(logits[0], targets[0]);
    REQUIRE(same(restored.confusion(), all.confusion()));
    // reset
    all.reset();
    REQUIRE(all.compute().total == 0);
    seg::MetricAccumulator other(c + 1);
    REQUIRE_THROWS_WITH(all.merge(other), Catch::Contains("accumulators differ"));
    REQUIRE_THROWS_WITH(restored.load_state(zeros({3, 3}, {DType::I64})), Catch::Contains("expected a (5, 5) i64"));
}

TEST_CASE("MetricAccumulator reports invalid labels", "[metrics]") {
    const Tensor pred = from_vector<int64_t>({0, 1, 1, 2}, {1, 2, 2});
    const Tensor target = from_vector<int64_t>({0, 1, 9, 255}, {1, 2, 2});
    seg::MetricAccumulator lazy(3);  // default: counted on the device, reported by compute()
    lazy.update(pred, target);
    REQUIRE_THROWS_WITH(lazy.compute(), Catch::Contains("1 ground-truth pixel(s) had labels outside [0, 3)"));
    seg::MetricAccumulator eager(3, 255, Device::cpu(), true);
    REQUIRE_THROWS_WITH(eager.update(pred, target), Catch::Contains("ground-truth label 9"));
}

TEST_CASE("class table", "[metrics]") {
    const seg::SegMetrics r = seg::compute_metrics(std::vector<int64_t>{3, 1, 0, 2, 4, 0, 0, 0, 0}, 3);
    const std::string t = seg::format_class_table(r, {"road", "sidewalk"});
    INFO(t);
    REQUIRE(t.find("road") != std::string::npos);
    REQUIRE(t.find("sidewalk") != std::string::npos);
    REQUIRE(t.find("\n2 ") != std::string::npos);  // unnamed class by index
    REQUIRE(t.find("absent") != std::string::npos);
    REQUIRE(t.find("50.00") != std::string::npos);  // IoU of class 0 in percent
    REQUIRE(t.find("mIoU 53.57") != std::string::npos);
    REQUIRE(t.find("2 of 3 classes evaluated") != std::string::npos);
}
