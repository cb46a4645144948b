// CPU dropout (kernels/dropout/dropout.h). Each mask entry is a pure function of its index
// (core/philox.h), so any split across threads gives the same mask — and the same as CUDA.
#include <algorithm>

#include "core/parallel.h"
#include "core/philox.h"
#include "kernels/dropout/dropout.h"

namespace segcore::kernels {

// Entries 4k .. 4k+3 share Philox counter offset + k (philox::uniform_at): one call per four.
void dropout_mask_cpu(const DropoutParams& p, bool* mask) {
    const int64_t n = p.mask_numel();
    parallel_for(0, (n + 3) / 4, kDefaultGrain / 4, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
            const philox::U32x4 r = philox::philox4x32(p.offset + uint64_t(k), 0, p.seed);
            for (int64_t t = 0; t < 4 && 4 * k + t < n; ++t)
                mask[4 * k + t] = philox::uint_to_unit(r.x[t]) < p.keep_prob;
        }
    });
}

template <typename T>
void dropout_apply_cpu(const DropoutParams& p, const T* x, const bool* mask, T* y) {
    using A = acc_t<T>;
    const A scale = A(p.scale);
    if (p.group == 1) {
        parallel_for(0, p.numel, kDefaultGrain, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) y[i] = mask[i] ? T(A(x[i]) * scale) : T(0.0f);
        });
        return;
    }
    // dropout2d: one decision per plane.
    parallel_for(0, p.mask_numel(), std::max<int64_t>(1, kDefaultGrain / p.group), [&](int64_t b, int64_t e) {
        for (int64_t j = b; j < e; ++j) {
            const T* xs = x + j * p.group;
            T* ys = y + j * p.group;
            if (mask[j])
                for (int64_t i = 0; i < p.group; ++i) ys[i] = T(A(xs[i]) * scale);
            else
                std::fill(ys, ys + p.group, T(0.0f));
        }
    });
}

template void dropout_apply_cpu<float>(const DropoutParams&, const float*, const bool*, float*);
template void dropout_apply_cpu<double>(const DropoutParams&, const double*, const bool*, double*);
template void dropout_apply_cpu<Half>(const DropoutParams&, const Half*, const bool*, Half*);
template void dropout_apply_cpu<BFloat16>(const DropoutParams&, const BFloat16*, const bool*, BFloat16*);

}  // namespace segcore::kernels
