// Metrics from a confusion matrix and the MetricAccumulator (seg/metrics/metrics.h,
// docs/metrics.md). Everything here runs on the host on C x C counts; the per-pixel work is
// ops::confusion_matrix_update.
#include "seg/metrics/metrics.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace segcore::seg {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den) { return den > 0 ? num / den : kNaN; }

// Mean of the defined (non-NaN) values; NaN when there are none.
double nanmean(const std::vector<double>& v) {
    double s = 0;
    int64_t n = 0;
    for (double x : v)
        if (!std::isnan(x)) {
            s += x;
            ++n;
        }
    return n > 0 ? s / double(n) : kNaN;
}

std::string fmt(double v, int width = 8) {
    char buf[32];
    if (std::isnan(v))
        std::snprintf(buf, sizeof(buf), "%*s", width, "-");
    else
        std::snprintf(buf, sizeof(buf), "%*.2f", width, 100.0 * v);
    return buf;
}

}  // namespace

SegMetrics compute_metrics(const std::vector<int64_t>& cm, int64_t c) {
    SEGCORE_CHECK(c >= 1 && int64_t(cm.size()) == c * c, "compute_metrics: expected ", c, " x ", c, " = ", c * c,
                  " counts, got ", cm.size());
    SegMetrics m;
    m.num_classes = c;
    const size_t C = size_t(c);
    m.true_positive.assign(C, 0);
    m.gt_pixels.assign(C, 0);
    m.pred_pixels.assign(C, 0);
    for (int64_t i = 0; i < c; ++i)
        for (int64_t j = 0; j < c; ++j) {
            const int64_t v = cm[size_t(i * c + j)];
            SEGCORE_CHECK(v >= 0, "compute_metrics: negative count ", v, " at (", i, ", ", j, ")");
            m.gt_pixels[size_t(i)] += v;
            m.pred_pixels[size_t(j)] += v;
            m.total += v;
            if (i == j) m.true_positive[size_t(i)] = v;
        }
    m.iou.assign(C, kNaN);
    m.dice.assign(C, kNaN);
    m.precision.assign(C, kNaN);
    m.recall.assign(C, kNaN);
    m.present.assign(C, false);
    double tp_sum = 0, fw = 0;
    for (size_t k = 0; k < C; ++k) {
        const double tp = double(m.true_positive[k]), gt = double(m.gt_pixels[k]), pr = double(m.pred_pixels[k]);
        tp_sum += tp;
        m.present[k] = gt + pr > 0;
        m.iou[k] = ratio(tp, gt + pr - tp);
        m.dice[k] = ratio(2 * tp, gt + pr);
        m.precision[k] = ratio(tp, pr);
        m.recall[k] = ratio(tp, gt);
        if (m.present[k]) ++m.classes_evaluated;
        if (gt > 0) fw += gt * m.iou[k];
    }
    m.pixel_accuracy = ratio(tp_sum, double(m.total));
    m.mean_accuracy = nanmean(m.recall);
    m.miou = nanmean(m.iou);
    m.mean_dice = nanmean(m.dice);
    m.fwiou = ratio(fw, double(m.total));
    return m;
}

SegMetrics compute_metrics(const Tensor& confusion) {
    SEGCORE_CHECK(confusion.defined() && confusion.dtype() == DType::I64 && confusion.dim() == 2 &&
                      confusion.size(0) == confusion.size(1),
                  "compute_metrics: expected a square (C, C) i64 confusion matrix, got ",
                  confusion.defined() ? confusion.meta_str() : std::string("an undefined tensor"));
    const Tensor h = confusion.cpu().contiguous();  // the one device-to-host copy
    const int64_t* d = h.data<int64_t>();
    return compute_metrics(std::vector<int64_t>(d, d + h.numel()), h.size(0));
}

std::string format_class_table(const SegMetrics& m, const std::vector<std::string>& names) {
    size_t w = 5;
    for (int64_t k = 0; k < m.num_classes; ++k)
        w = std::max(w, size_t(k) < names.size() ? names[size_t(k)].size() : std::to_string(k).size());
    std::ostringstream os;
    const auto name_of = [&](int64_t k) { return size_t(k) < names.size() ? names[size_t(k)] : std::to_string(k); };
    char line[256];
    std::snprintf(line, sizeof(line), "%-*s %8s %8s %8s %8s %12s %12s\n", int(w), "class", "IoU", "Dice", "Prec",
                  "Recall", "GT px", "Pred px");
    os << line;
    for (int64_t k = 0; k < m.num_classes; ++k) {
        const size_t i = size_t(k);
        std::snprintf(line, sizeof(line), "%-*s %s %s %s %s %12lld %12lld%s\n", int(w), name_of(k).c_str(),
                      fmt(m.iou[i]).c_str(), fmt(m.dice[i]).c_str(), fmt(m.precision[i]).c_str(),
                      fmt(m.recall[i]).c_str(), (long long)m.gt_pixels[i], (long long)m.pred_pixels[i],
                      m.present[i] ? "" : "  (absent: excluded from the means)");
        os << line;
    }
    std::snprintf(line, sizeof(line),
                  "mIoU %s  mDice %s  mAcc %s  aAcc %s  fwIoU %s  (%lld of %lld classes evaluated, %lld pixels)\n",
                  fmt(m.miou, 0).c_str(), fmt(m.mean_dice, 0).c_str(), fmt(m.mean_accuracy, 0).c_str(),
                  fmt(m.pixel_accuracy, 0).c_str(), fmt(m.fwiou, 0).c_str(), (long long)m.classes_evaluated,
                  (long long)m.num_classes, (long long)m.total);
    os << line;
    return os.str();
}

MetricAccumulator::MetricAccumulator(int64_t num_classes, int64_t ignore_index, Device device, bool check_labels)
    : num_classes_(num_classes), ignore_index_(ignore_index), device_(device), check_labels_(check_labels) {
    SEGCORE_CHECK(num_classes >= 1 && num_classes <= kernels::kMaxConfusionClasses,
                  "MetricAccumulator: the number of classes must be in [1, ", kernels::kMaxConfusionClasses, "], got ",
                  num_classes);
    reset();
}

void MetricAccumulator::update(const Tensor& input, const Tensor& labels) {
    ops::ConfusionOptions opt;
    opt.ignore_index = ignore_index_;
    opt.check_labels = check_labels_;
    ops::confusion_matrix_update(conf_, input.to(device_), labels.to(device_), opt, status_);
}

SegMetrics MetricAccumulator::compute() const {
    const Tensor s = status_.cpu();
    const int64_t* st = s.data<int64_t>();
    SEGCORE_CHECK(st[kernels::kBadTargetCount] == 0, "MetricAccumulator: ", st[kernels::kBadTargetCount],
                  " ground-truth pixel(s) had labels outside [0, ", num_classes_, ") other than ignore_index ",
                  ignore_index_, " and were not counted (construct with check_labels = true to stop at the first ",
                  "such batch and see the value)");
    SEGCORE_CHECK(st[kernels::kBadPredCount] == 0, "MetricAccumulator: ", st[kernels::kBadPredCount],
                  " predicted pixel(s) had labels outside [0, ", num_classes_, ") and were not counted");
    return compute_metrics(conf_);
}

void MetricAccumulator::reset() {
    conf_ = zeros({num_classes_, num_classes_}, {DType::I64, device_});
    status_ = ops::confusion_status(device_);
}

void MetricAccumulator::merge(const MetricAccumulator& other) {
    SEGCORE_CHECK(other.num_classes_ == num_classes_ && other.ignore_index_ == ignore_index_,
                  "MetricAccumulator::merge: accumulators differ (", num_classes_, " classes, ignore ", ignore_index_,
                  " vs ", other.num_classes_, " classes, ignore ", other.ignore_index_, ")");
    ops::confusion_matrix_merge_(conf_, other.conf_);
    // Status: counts add, first positions take the minimum (host side; 4 numbers).
    const Tensor a = status_.cpu().clone(), b = other.status_.cpu();
    int64_t* x = a.data<int64_t>();
    const int64_t* y = b.data<int64_t>();
    x[kernels::kBadTargetCount] += y[kernels::kBadTargetCount];
    x[kernels::kBadTargetFirst] = std::min(x[kernels::kBadTargetFirst], y[kernels::kBadTargetFirst]);
    x[kernels::kBadPredCount] += y[kernels::kBadPredCount];
    x[kernels::kBadPredFirst] = std::min(x[kernels::kBadPredFirst], y[kernels::kBadPredFirst]);
    status_.copy_(a);
}

void MetricAccumulator::load_state(const Tensor& confusion, const Tensor& status) {
    SEGCORE_CHECK(confusion.defined() && confusion.dtype() == DType::I64 && confusion.dim() == 2 &&
                      confusion.size(0) == num_classes_ && confusion.size(1) == num_classes_,
                  "MetricAccumulator::load_state: expected a (", num_classes_, ", ", num_classes_, ") i64 matrix, got ",
                  confusion.defined() ? confusion.meta_str() : std::string("an undefined tensor"));
    conf_.copy_(confusion);
    if (status.defined()) {
        SEGCORE_CHECK(status.dtype() == DType::I64 && status.numel() == kernels::kConfusionStatusSize,
                      "MetricAccumulator::load_state: expected a (4) i64 status, got ", status.meta_str());
        status_.copy_(status.reshape({kernels::kConfusionStatusSize}));
    } else {
        status_ = ops::confusion_status(device_);
    }
}

}  // namespace segcore::seg
