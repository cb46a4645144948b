// Boundary F1 (seg/metrics/boundary.h, docs/metrics.md#boundary-f1).
//
// Per image: one pass marks the boundary pixels of both maps (each boundary pixel belongs to the
// class of its own label), then per class, in parallel over classes: the exact Euclidean distance
// transform of one side's boundary pixels, read at the other side's boundary pixels. The
// transform runs on the bounding box of the query pixels grown by the tolerance, not the whole
// image: a source pixel within the tolerance of a query pixel lies inside that box, so the
// answer is the same and a class covering a small part of the image costs little.
#include "seg/metrics/boundary.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "kernels/reduce/reduce.h"

namespace segcore::seg {

namespace {

// "Infinitely far": finite, so the lower-envelope arithmetic never meets inf - inf. Squared
// distances inside any image are below 2^63 / 1e20 apart, so 1e20 is never reached by a real one.
constexpr double kFar = 1e20;

// Felzenszwalb & Huttenlocher (2012), "Distance Transforms of Sampled Functions": the lower
// envelope of the parabolas (q - v)^2 + f(v). d[q] = min_v (q - v)^2 + f[v], in O(n).
void dt1d(const double* f, int64_t n, int64_t fstride, double* d, int64_t* v, double* z) {
    int64_t k = 0;
    v[0] = 0;
    z[0] = -std::numeric_limits<double>::infinity();
    z[1] = std::numeric_limits<double>::infinity();
    const auto fv = [&](int64_t i) { return f[i * fstride]; };
    for (int64_t q = 1; q < n; ++q) {
        double s = ((fv(q) + double(q * q)) - (fv(v[k]) + double(v[k] * v[k]))) / double(2 * q - 2 * v[k]);
        while (s <= z[k]) {
            --k;
            s = ((fv(q) + double(q * q)) - (fv(v[k]) + double(v[k] * v[k]))) / double(2 * q - 2 * v[k]);
        }
        ++k;
        v[k] = q;
        z[k] = s;
        z[k + 1] = std::numeric_limits<double>::infinity();
    }
    k = 0;
    for (int64_t q = 0; q < n; ++q) {
        while (z[k + 1] < double(q)) ++k;
        d[q] = double((q - v[k]) * (q - v[k])) + fv(v[k]);
    }
}

// In place on an h x w grid holding 0 (source) or kFar: columns, then rows.
void edt2d(std::vector<double>& g, int64_t h, int64_t w) {
    const int64_t n = std::max(h, w);
    std::vector<double> d(static_cast<size_t>(n)), z(static_cast<size_t>(n + 1));
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t x = 0; x < w; ++x) {
        dt1d(g.data() + x, h, w, d.data(), v.data(), z.data());
        for (int64_t y = 0; y < h; ++y) g[size_t(y * w + x)] = d[size_t(y)];
    }
    for (int64_t y = 0; y < h; ++y) {
        dt1d(g.data() + y * w, w, 1, d.data(), v.data(), z.data());
        std::copy(d.begin(), d.begin() + w, g.begin() + y * w);
    }
}

// How many of `query` (flat pixels of a W-wide image) lie within sqrt(tol2) of some pixel of
// `source`. Both non-empty.
int64_t count_matched(const std::vector<int64_t>& query, const std::vector<int64_t>& source, int64_t img_h,
                      int64_t img_w, double tol) {
    const int64_t r = int64_t(std::floor(tol));
    int64_t y0 = img_h, y1 = -1, x0 = img_w, x1 = -1;
    for (int64_t p : query) {
        y0 = std::min(y0, p / img_w), y1 = std::max(y1, p / img_w);
        x0 = std::min(x0, p % img_w), x1 = std::max(x1, p % img_w);
    }
    y0 = std::max<int64_t>(0, y0 - r), x0 = std::max<int64_t>(0, x0 - r);
    y1 = std::min(img_h - 1, y1 + r), x1 = std::min(img_w - 1, x1 + r);
    const int64_t h = y1 - y0 + 1, w = x1 - x0 + 1;
    std::vector<double> g(size_t(h * w), kFar);
    bool any = false;
    for (int64_t p : source) {
        const int64_t y = p / img_w - y0, x = p % img_w - x0;
        if (y >= 0 && y < h && x >= 0 && x < w) {
            g[size_t(y * w + x)] = 0.0;
            any = true;
        }
    }
    if (!any) return 0;
    edt2d(g, h, w);
    // Squared distances are exact integers in double; the tolerance gets a relative slack so that
    // tol = sqrt(2) accepts the diagonal neighbour.
    const double tol2 = tol * tol * (1 + 1e-12);
    int64_t matched = 0;
    for (int64_t p : query) matched += g[size_t((p / img_w - y0) * w + (p % img_w - x0))] <= tol2 ? 1 : 0;
    return matched;
}

Tensor as_i64_host(const Tensor& t) { return t.to(Device::cpu(), DType::I64).contiguous(); }

}  // namespace

std::vector<double> squared_distance_transform(const std::vector<uint8_t>& mask, int64_t h, int64_t w) {
    SEGCORE_CHECK(h >= 0 && w >= 0 && int64_t(mask.size()) == h * w, "squared_distance_transform: mask of ",
                  mask.size(), " values for a ", h, " x ", w, " grid");
    std::vector<double> g(mask.size(), kFar);
    bool any = false;
    for (size_t i = 0; i < mask.size(); ++i)
        if (mask[i]) g[i] = 0.0, any = true;
    if (!any) return std::vector<double>(mask.size(), std::numeric_limits<double>::infinity());
    edt2d(g, h, w);
    return g;
}

void BoundaryStats::merge(const BoundaryStats& o) {
    SEGCORE_CHECK(o.num_classes == num_classes, "BoundaryStats::merge: ", num_classes, " vs ", o.num_classes,
                  " classes");
    for (size_t c = 0; c < size_t(num_classes); ++c) {
        pred_boundary[c] += o.pred_boundary[c];
        pred_matched[c] += o.pred_matched[c];
        gt_boundary[c] += o.gt_boundary[c];
        gt_matched[c] += o.gt_matched[c];
    }
}

BoundaryStats boundary_stats(const Tensor& pred_in, const Tensor& target_in, const BoundaryF1Options& opt) {
    const char* op = "boundary_f1";
    SEGCORE_CHECK(pred_in.defined() && target_in.defined(), op, ": undefined input");
    SEGCORE_CHECK(opt.num_classes >= 1, op, ": num_classes must be >= 1, got ", opt.num_classes);
    SEGCORE_CHECK(opt.tolerance >= 0 && std::isfinite(opt.tolerance), op, ": the tolerance must be >= 0 pixels, got ",
                  opt.tolerance);
    for (const Tensor* t : {&pred_in, &target_in})
        SEGCORE_CHECK(!is_floating(t->dtype()) && t->dtype() != DType::Bool, op,
                      ": expected integer label maps (i64, i32, u8), got ", t->meta_str(),
                      " (take the argmax of logits first, or use BoundaryF1Accumulator)");
    SEGCORE_CHECK(pred_in.shape() == target_in.shape() && (pred_in.dim() == 2 || pred_in.dim() == 3), op,
                  ": prediction and target must be (H, W) or (N, H, W) of the same shape, got ",
                  shape_str(pred_in.shape()), " and ", shape_str(target_in.shape()));
    const Tensor pred = as_i64_host(pred_in), target = as_i64_host(target_in);
    const int64_t n = pred.dim() == 3 ? pred.size(0) : 1, h = pred.size(-2 + pred.dim()), w = pred.size(pred.dim() - 1);
    const int64_t C = opt.num_classes, ign = opt.ignore_index, hw = h * w;
    BoundaryStats stats(C);
    for (int64_t img = 0; img < n; ++img) {
        const int64_t* gt = target.data<int64_t>() + img * hw;
        const int64_t* pr = pred.data<int64_t>() + img * hw;
        for (int64_t i = 0; i < hw; ++i) {
            if (gt[i] == ign) continue;
            SEGCORE_CHECK(gt[i] >= 0 && gt[i] < C, op, ": ground-truth label ", gt[i], " at (n=", img, ", h=", i / w,
                          ", w=", i % w, ") is outside [0, ", C, ") and is not ignore_index ", ign);
            SEGCORE_CHECK(pr[i] >= 0 && pr[i] < C, op, ": predicted label ", pr[i], " at (n=", img, ", h=", i / w,
                          ", w=", i % w, ") is outside [0, ", C, ")");
        }
        // Boundary pixels per class, both maps.
        std::vector<std::vector<int64_t>> gpix(static_cast<size_t>(C)), ppix(static_cast<size_t>(C));
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) {
                const int64_t i = y * w + x;
                if (gt[i] == ign) continue;
                bool gb = false, pb = false;
                const int64_t nb[4][2] = {{y - 1, x}, {y + 1, x}, {y, x - 1}, {y, x + 1}};
                for (const auto& q : nb) {
                    if (q[0] < 0 || q[0] >= h || q[1] < 0 || q[1] >= w) continue;
                    const int64_t j = q[0] * w + q[1];
                    if (gt[j] == ign) continue;
                    gb |= gt[j] != gt[i];
                    pb |= pr[j] != pr[i];
                }
                if (gb) gpix[size_t(gt[i])].push_back(i);
                if (pb) ppix[size_t(pr[i])].push_back(i);
            }
        parallel_for(0, C, 1, [&](int64_t cb, int64_t ce) {
            for (int64_t c = cb; c < ce; ++c) {
                const auto& g = gpix[size_t(c)];
                const auto& p = ppix[size_t(c)];
                stats.gt_boundary[size_t(c)] += int64_t(g.size());
                stats.pred_boundary[size_t(c)] += int64_t(p.size());
                if (g.empty() || p.empty()) continue;
                stats.pred_matched[size_t(c)] += count_matched(p, g, h, w, opt.tolerance);
                stats.gt_matched[size_t(c)] += count_matched(g, p, h, w, opt.tolerance);
            }
        });
    }
    return stats;
}

BoundaryF1Result boundary_f1(const BoundaryStats& s) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    BoundaryF1Result r;
    const size_t C = size_t(s.num_classes);
    r.precision.assign(C, nan);
    r.recall.assign(C, nan);
    r.f1.assign(C, nan);
    double sum = 0;
    for (size_t c = 0; c < C; ++c) {
        const int64_t pb = s.pred_boundary[c], gb = s.gt_boundary[c];
        if (pb > 0) r.precision[c] = double(s.pred_matched[c]) / double(pb);
        if (gb > 0) r.recall[c] = double(s.gt_matched[c]) / double(gb);
        if (pb == 0 && gb == 0) continue;  // no boundary of this class anywhere: excluded
        if (pb > 0 && gb > 0) {
            const double p = r.precision[c], q = r.recall[c];
            r.f1[c] = p + q > 0 ? 2 * p * q / (p + q) : 0.0;
        } else {
            r.f1[c] = 0.0;  // boundaries on one side only: nothing matched
        }
        sum += r.f1[c];
        ++r.classes_evaluated;
    }
    r.mean_f1 = r.classes_evaluated > 0 ? sum / double(r.classes_evaluated) : nan;
    return r;
}

void BoundaryF1Accumulator::update(const Tensor& pred_or_logits, const Tensor& target) {
    if (is_floating(pred_or_logits.dtype())) {
        SEGCORE_CHECK(pred_or_logits.dim() == 4, "BoundaryF1Accumulator: logits must be (N, C, H, W), got ",
                      shape_str(pred_or_logits.shape()));
        stats_.merge(boundary_stats(ops::argmax(pred_or_logits, 1), target, opt_));
    } else {
        stats_.merge(boundary_stats(pred_or_logits, target, opt_));
    }
}

}  // namespace segcore::seg
