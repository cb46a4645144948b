// CPU reference for OHEM's selection and masked mean (kernels/loss/ohem_cross_entropy.h):
// std::nth_element for the k-th smallest q, then one ordered pass in double.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/loss/ohem_cross_entropy.h"

namespace segcore::kernels {

template <typename S, typename L>
void ohem_select_reduce_cpu(const OhemParams& p, const S* py, const S* loss_pix, const L* labels, const S* weight,
                            S* totals) {
    const int64_t total = p.pixels();
    std::vector<S> valid;
    valid.reserve(size_t(total));
    for (int64_t i = 0; i < total; ++i)
        if (std::isfinite(py[i])) valid.push_back(py[i]);
    S min_thr = S(0);
    if (!valid.empty()) {
        const int64_t k = std::min<int64_t>(p.kept, int64_t(valid.size()) - 1);
        std::nth_element(valid.begin(), valid.begin() + k, valid.end());
        min_thr = valid[size_t(k)];
    }
    const S thr = std::max(min_thr, S(p.thresh));
    double sl = 0, sw = 0;
    for (int64_t i = 0; i < total; ++i) {
        if (!(py[i] < thr)) continue;  // ignored pixels hold +inf
        sl += double(loss_pix[i]);
        sw += weight ? double(weight[int64_t(labels[i])]) : 1.0;
    }
    totals[kTotalsSumLoss] = S(sl);
    totals[kTotalsSumWeight] = S(sw);
    totals[kTotalsThreshold] = thr;
    pixel_loss_finish(LossReduction::Mean, totals);
}

#define SEGCORE_INSTANTIATE(S, L) \
    template void ohem_select_reduce_cpu<S, L>(const OhemParams&, const S*, const S*, const L*, const S*, S*);
SEGCORE_INSTANTIATE(float, int64_t)
SEGCORE_INSTANTIATE(float, int32_t)
SEGCORE_INSTANTIATE(float, uint8_t)
SEGCORE_INSTANTIATE(double, int64_t)
SEGCORE_INSTANTIATE(double, int32_t)
SEGCORE_INSTANTIATE(double, uint8_t)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
