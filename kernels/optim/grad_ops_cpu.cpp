// CPU gradient helpers (kernels/optim/grad_ops.h): multi-tensor L2 norm, scale, non-finite check
// and unscale, loss-scale update. Parallel over fixed chunks of the list (multi_tensor.h); the norm
// sums each chunk in double in element order and then the chunk sums in chunk order, so it does not
// depend on the thread count.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "core/half.h"
#include "core/parallel.h"
#include "kernels/optim/grad_ops.h"

namespace segcore::kernels {

namespace {

struct ChunkRef {
    int64_t tensor, begin, end;
};

std::vector<ChunkRef> make_chunks(const std::vector<int64_t>& numel) {
    std::vector<ChunkRef> chunks;
    for (int64_t i = 0; i < int64_t(numel.size()); ++i)
        for (int64_t b = 0; b < numel[size_t(i)]; b += kMultiTensorChunk)
            chunks.push_back({i, b, std::min(numel[size_t(i)], b + kMultiTensorChunk)});
    return chunks;
}

}  // namespace

template <typename T>
void l2_norm_cpu(const TensorLists<T>& t, T* norm_out, T* coef_out, double max_norm) {
    const std::vector<ChunkRef> chunks = make_chunks(t.numel);
    std::vector<double> partial(chunks.size(), 0.0);
    parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            const ChunkRef& r = chunks[size_t(c)];
            const T* x = t.lists[0][size_t(r.tensor)];
            // 4 lanes so the loop pipelines; combined in a fixed order
            double acc[4] = {0, 0, 0, 0};
            int64_t j = r.begin;
            for (; j + 4 <= r.end; j += 4)
                for (int k = 0; k < 4; ++k) acc[k] += double(x[j + k]) * double(x[j + k]);
            for (; j < r.end; ++j) acc[0] += double(x[j]) * double(x[j]);
            partial[size_t(c)] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        }
    });
    double total = 0.0;
    for (double s : partial) total += s;
    const T norm = T(std::sqrt(total));
    *norm_out = norm;
    // torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1 (NaN stays NaN)
    if (coef_out) {
        const T coef = T(max_norm) / (norm + T(1e-6));
        *coef_out = coef > T(1) ? T(1) : coef;
    }
}

template <typename T>
void scale_cpu(const TensorLists<T>& t, const T* scale) {
    const T s = *scale;
    const std::vector<ChunkRef> chunks = make_chunks(t.numel);
    parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            const ChunkRef& r = chunks[size_t(c)];
            T* x = t.lists[0][size_t(r.tensor)];
            for (int64_t j = r.begin; j < r.end; ++j) x[j] = x[j] * s;
        }
    });
}

template <typename T>
void non_finite_check_and_unscale_cpu(const TensorLists<T>& t, float* found_inf, const float* inv_scale) {
    const std::vector<ChunkRef> chunks = make_chunks(t.numel);
    std::atomic<bool> any{false};
    const T inv = inv_scale ? T(*inv_scale) : T(1);
    parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
        bool local = false;
        for (int64_t c = b; c < e; ++c) {
            const ChunkRef& r = chunks[size_t(c)];
            T* x = t.lists[0][size_t(r.tensor)];
            for (int64_t j = r.begin; j < r.end; ++j) {
                local |= !std::isfinite(x[j]);
                if (inv_scale) x[j] = x[j] * inv;  // torch multiplies even when it finds an inf
            }
        }
        if (local) any.store(true, std::memory_order_relaxed);
    });
    if (any.load()) *found_inf = 1.0f;
}

void update_scale_cpu(const UpdateScaleParams& p, float* scale, int32_t* growth_tracker, const float* found_inf) {
    if (*found_inf != 0.0f) {
        *scale = float(double(*scale) * p.backoff_factor);
        *growth_tracker = 0;
        return;
    }
    const int64_t successful = int64_t(*growth_tracker) + 1;
    if (successful == p.growth_interval) {
        const float grown = float(double(*scale) * p.growth_factor);
        if (std::isfinite(grown)) *scale = grown;
        *growth_tracker = 0;
    } else {
        *growth_tracker = int32_t(successful);
    }
}

template void l2_norm_cpu<float>(const TensorLists<float>&, float*, float*, double);
template void l2_norm_cpu<double>(const TensorLists<double>&, double*, double*, double);
template void scale_cpu<float>(const TensorLists<float>&, const float*);
template void scale_cpu<double>(const TensorLists<double>&, const double*);
template void non_finite_check_and_unscale_cpu<float>(const TensorLists<float>&, float*, const float*);
template void non_finite_check_and_unscale_cpu<double>(const TensorLists<double>&, float*, const float*);

}  // namespace segcore::kernels
