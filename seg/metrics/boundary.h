#pragma once
// Boundary F1 (the BF score of Csurka et al., 2013): how well predicted region boundaries line up
// with the ground truth's, within a distance tolerance. CPU; inputs on the device are copied.
// docs/metrics.md#boundary-f1 has the definition with pictures in words; in short:
//
// Pixels whose ground truth is ignore_index are removed from the image (for both maps).
// Boundary pixel of class c in a label map L: a remaining pixel p with L(p) = c that has a
//   4-NEIGHBOUR q (up, down, left, right; inside the image and not removed) with L(q) != c.
//   The image border itself makes no boundary.
// Distance: EUCLIDEAN, in pixels, from the exact Euclidean distance transform (Felzenszwalb &
//   Huttenlocher's lower-envelope algorithm, linear in the pixels); "within tolerance" is
//   d <= tolerance (tolerance 0: the same pixel).
// Per class c, with B_pred / B_gt its boundary pixels in prediction / ground truth:
//   precision_c = |{p in B_pred : d(p, B_gt) <= tol}| / |B_pred|
//   recall_c    = |{g in B_gt : d(g, B_pred) <= tol}| / |B_gt|
//   F1_c        = 2 P R / (P + R)   (0 when P + R = 0, or when only one side has boundary pixels)
// The counts are summed over all images given (a dataset-level score per class, not an average
// of per-image scores); mean F1 averages F1_c over the classes with boundary pixels in either map
// (the absent-class rule of docs/metrics.md). No boundary anywhere: mean F1 is NaN.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace segcore::seg {

struct BoundaryF1Options {
    int64_t num_classes = 0;
    int64_t ignore_index = 255;
    double tolerance = 2.0;  // pixels, Euclidean (>= 0)
};

// Summable per-class counts.
struct BoundaryStats {
    int64_t num_classes = 0;
    std::vector<int64_t> pred_boundary, pred_matched, gt_boundary, gt_matched;

    explicit BoundaryStats(int64_t c = 0)
        : num_classes(c),
          pred_boundary(size_t(c)),
          pred_matched(size_t(c)),
          gt_boundary(size_t(c)),
          gt_matched(size_t(c)) {}
    void merge(const BoundaryStats& o);
};

struct BoundaryF1Result {
    std::vector<double> precision, recall, f1;  // per class; NaN where undefined
    double mean_f1 = 0;
    int64_t classes_evaluated = 0;
};

// pred, target: integer label maps (H, W) or (N, H, W) (i64, i32, u8), same shape. Labels must be
// in [0, C) (targets may also be ignore_index): anything else is an error naming the value.
BoundaryStats boundary_stats(const Tensor& pred, const Tensor& target, const BoundaryF1Options& opt);
BoundaryF1Result boundary_f1(const BoundaryStats& s);
inline BoundaryF1Result boundary_f1(const Tensor& pred, const Tensor& target, const BoundaryF1Options& opt) {
    return boundary_f1(boundary_stats(pred, target, opt));
}

// Accumulates over an evaluation (predicted labels, or logits (N, C, H, W): argmax first).
class BoundaryF1Accumulator {
public:
    explicit BoundaryF1Accumulator(BoundaryF1Options opt) : opt_(opt), stats_(opt.num_classes) {}
    void update(const Tensor& pred_or_logits, const Tensor& target);
    BoundaryF1Result compute() const { return boundary_f1(stats_); }
    void reset() { stats_ = BoundaryStats(opt_.num_classes); }
    void merge(const BoundaryF1Accumulator& o) { stats_.merge(o.stats_); }
    const BoundaryStats& stats() const { return stats_; }

private:
    BoundaryF1Options opt_;
    BoundaryStats stats_;
};

// The squared Euclidean distance from every pixel of an h x w grid to the nearest set pixel of
// `mask` (row-major; +infinity everywhere when no pixel is set). Exposed for tests.
std::vector<double> squared_distance_transform(const std::vector<uint8_t>& mask, int64_t h, int64_t w);

}  // namespace segcore::seg
