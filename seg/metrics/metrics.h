#pragma once
// Segmentation metrics from a confusion matrix (docs/metrics.md has every formula).
//
// The matrix M (C x C, i64, rows = ground truth, columns = prediction) is collected on the device
// by ops::confusion_matrix_update (kernels/metrics/confusion.h) and copied to the host once, by
// compute_metrics. With TP_c = M[c][c], GT_c = sum_j M[c][j], PR_c = sum_i M[i][c], N = sum M:
//   pixel accuracy   = sum_c TP_c / N
//   recall_c (class accuracy) = TP_c / GT_c          precision_c = TP_c / PR_c
//   IoU_c  = TP_c / (GT_c + PR_c - TP_c)             Dice_c = F1_c = 2 TP_c / (GT_c + PR_c)
//   mean accuracy = mean of recall_c, mIoU = mean of IoU_c, mean Dice = mean of Dice_c
//   frequency-weighted IoU = sum_c (GT_c / N) IoU_c
//
// THE ABSENT-CLASS RULE: a per-class value whose denominator is 0 is undefined (NaN) and every
// mean skips the undefined values. So a class absent from BOTH the prediction and the ground
// truth (GT_c = PR_c = 0) is EXCLUDED from mIoU and mean Dice — it neither helps (as IoU = 1
// would) nor hurts (as IoU = 0 would). A class that is predicted but absent from the ground truth
// has IoU 0 and Dice 0 and IS included (a false-positive class is an error); it is excluded from
// mean accuracy (its recall is 0/0). A mean over no defined value is NaN (e.g. everything ignored).
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/metrics/confusion.h"

namespace segcore::seg {

struct SegMetrics {
    int64_t num_classes = 0;
    int64_t total = 0;  // N: pixels counted (ignored pixels are not)

    double pixel_accuracy = 0;      // NaN when total == 0
    double mean_accuracy = 0;       // mean recall over classes with GT_c > 0
    double miou = 0;                // mean IoU over classes with GT_c + PR_c > 0
    double fwiou = 0;               // frequency-weighted IoU
    double mean_dice = 0;           // mean Dice/F1 over classes with GT_c + PR_c > 0
    int64_t classes_evaluated = 0;  // classes with GT_c + PR_c > 0 (the mIoU denominator)

    // Per class (size C); NaN where undefined.
    std::vector<double> iou, dice, precision, recall;
    std::vector<int64_t> true_positive, gt_pixels, pred_pixels;
    std::vector<bool> present;  // GT_c + PR_c > 0: included in mIoU / mean Dice

    double accuracy(int64_t c) const { return recall[size_t(c)]; }  // class accuracy = recall
};

// All metrics of a (C, C) i64 confusion matrix on any device (copied to the host once).
SegMetrics compute_metrics(const Tensor& confusion);
SegMetrics compute_metrics(const std::vector<int64_t>& confusion, int64_t num_classes);

// A per-class table (class, IoU, Dice, precision, recall, GT and predicted pixels) and the
// summary lines; class names are optional (indices are used for missing ones). Undefined values
// print as "-" and absent classes are marked.
std::string format_class_table(const SegMetrics& m, const std::vector<std::string>& class_names = {});

// Collects the confusion matrix of an evaluation on the device, batch by batch, with no host
// round trip unless check_labels is on (then one synchronisation per update to report invalid
// labels at once; off, invalid pixels are counted on the device and compute() reports them).
class MetricAccumulator {
public:
    MetricAccumulator(int64_t num_classes, int64_t ignore_index = 255, Device device = Device::cpu(),
                      bool check_labels = false);

    // input: logits (N, C, H, W) floating, or predicted labels (N, H, W) integer; labels (N, H, W)
    // i64/i32/u8. Inputs on another device than the accumulator's are copied to it.
    void update(const Tensor& input, const Tensor& labels);
    // Copies the matrix to the host and computes everything. Throws if any update saw labels
    // outside [0, C) other than ignore_index (naming how many) — those pixels were not counted.
    SegMetrics compute() const;
    void reset();
    // Adds another accumulator's counts (data parallel: one accumulator per replica). Same C and
    // ignore index; the other may live on another device.
    void merge(const MetricAccumulator& other);

    // Checkpointing: the state is the (C, C) i64 matrix (on the accumulator's device) and the
    // (4) i64 invalid-label status. load_state copies both in (the status may be omitted).
    const Tensor& confusion() const { return conf_; }
    Tensor state() const { return conf_; }
    const Tensor& status() const { return status_; }
    void load_state(const Tensor& confusion, const Tensor& status = Tensor());

    int64_t num_classes() const { return num_classes_; }
    int64_t ignore_index() const { return ignore_index_; }
    Device device() const { return device_; }

private:
    int64_t num_classes_;
    int64_t ignore_index_;
    Device device_;
    bool check_labels_;
    Tensor conf_, status_;
};

}  // namespace segcore::seg
