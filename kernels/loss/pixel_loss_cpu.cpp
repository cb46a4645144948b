// CPU backward of the fused per-pixel losses (kernels/loss/pixel_loss.h): a rescale of the
// gradient buffer, parallel over (n, c) planes.
#include <algorithm>

#include "core/half.h"
#include "core/parallel.h"
#include "kernels/loss/pixel_loss.h"

namespace segcore::kernels {

template <typename T, typename S>
void pixel_loss_backward_cpu(const PixelLossBackwardParams& p, const T* grad, const S* totals, const S* upstream,
                             const S* py, T* dx) {
    using A = acc_t<T>;
    const A scale = A(totals[kTotalsScale]), thr = A(totals[kTotalsThreshold]);
    const int64_t grain = std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(p.hw, 1));
    parallel_for(0, p.n * p.c, grain, [&](int64_t b, int64_t e) {
        for (int64_t plane = b; plane < e; ++plane) {
            const int64_t n = plane / p.c;
            const T* g = grad + plane * p.hw;
            T* d = dx + plane * p.hw;
            const S* up = upstream + (p.per_pixel_upstream ? n * p.hw : 0);
            const S* q = py ? py + n * p.hw : nullptr;
            if (!p.per_pixel_upstream && !q) {
                const A k = scale * A(upstream[0]);
                for (int64_t j = 0; j < p.hw; ++j) d[j] = T(A(g[j]) * k);
                continue;
            }
            for (int64_t j = 0; j < p.hw; ++j) {
                A k = scale * A(p.per_pixel_upstream ? up[j] : up[0]);
                if (q && !(A(q[j]) < thr)) k = A(0);
                d[j] = T(A(g[j]) * k);
            }
        }
    });
}

template void pixel_loss_backward_cpu<float, float>(const PixelLossBackwardParams&, const float*, const float*,
                                                    const float*, const float*, float*);
template void pixel_loss_backward_cpu<double, double>(const PixelLossBackwardParams&, const double*, const double*,
                                                      const double*, const double*, double*);
template void pixel_loss_backward_cpu<Half, float>(const PixelLossBackwardParams&, const Half*, const float*,
                                                   const float*, const float*, Half*);
template void pixel_loss_backward_cpu<BFloat16, float>(const PixelLossBackwardParams&, const BFloat16*, const float*,
                                                       const float*, const float*, BFloat16*);

}  // namespace segcore::kernels
