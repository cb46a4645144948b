// CPU fused optimiser updates (kernels/optim/fused_optim.h): the reference the CUDA kernels are
// checked against. The element loops are written exactly as the formulas in the header, with every
// hyper-parameter cast to T first (as PyTorch's ops cast a Python scalar), so a f64 run follows
// PyTorch's f64 run to the last few bits. Parallel over chunks of the whole list (multi_tensor.h).
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "core/parallel.h"
#include "kernels/optim/fused_optim.h"

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

// Runs fn(chunk) over every chunk unless found_inf is set; on a skipped call bumps each skip
// counter once (what the CUDA kernel's chunk-0 blocks do).
template <typename F>
void for_each_chunk(const std::vector<int64_t>& numel, const StepCounts& steps, GradScaling scaling, F&& fn) {
    if (scaling.found_inf && *scaling.found_inf != 0.0f) {
        for (size_t i = 0; i < steps.skipped.size(); ++i)
            if (steps.skipped[i] && numel[i] > 0) *steps.skipped[i] += 1.0f;
        return;
    }
    const std::vector<ChunkRef> chunks = make_chunks(numel);
    parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) fn(chunks[size_t(c)]);
    });
}

int64_t step_of(const StepCounts& steps, int64_t i) {
    const float* sk = steps.skipped.empty() ? nullptr : steps.skipped[size_t(i)];
    return steps.step[size_t(i)] - (sk ? int64_t(*sk) : 0);
}

}  // namespace

template <typename T>
void sgd_step_cpu(const SgdParams& hp, const TensorLists<T>& t, const StepCounts& steps, GradScaling scaling) {
    const T lr = T(hp.lr), mu = T(hp.momentum), damp = T(1.0 - hp.dampening), wd = T(hp.weight_decay);
    const bool use_wd = hp.weight_decay != 0.0, use_mom = hp.momentum != 0.0;
    const T inv = scaling.inv_scale ? T(*scaling.inv_scale) : T(1);
    const bool unscale = scaling.inv_scale != nullptr;
    for_each_chunk(t.numel, steps, scaling, [&](const ChunkRef& c) {
        T* p = t.lists[0][size_t(c.tensor)];
        const T* g = t.lists[1][size_t(c.tensor)];
        T* buf = use_mom ? t.lists[2][size_t(c.tensor)] : nullptr;
        const bool first = step_of(steps, c.tensor) == 1;
        for (int64_t j = c.begin; j < c.end; ++j) {
            T d = unscale ? g[j] * inv : g[j];
            if (use_wd) d = d + wd * p[j];
            if (use_mom) {
                const T b = first ? d : mu * buf[j] + damp * d;
                buf[j] = b;
                d = hp.nesterov ? d + mu * b : b;
            }
            p[j] = p[j] + (-lr) * d;
        }
    });
}

namespace {

constexpr int64_t kTile = 256;  // elements per tile: the sqrt buffer stays in L1

// In-place sqrt of n values. f32 with AVX: 8 lanes per instruction (libm's std::sqrt keeps errno
// semantics, so GCC does not vectorise a loop that calls it). Both forms are the correctly rounded
// IEEE square root: the result does not depend on the path.
template <typename T>
void sqrt_inplace(T* x, int64_t n) {
    int64_t k = 0;
#if defined(__AVX__)
    if constexpr (std::is_same_v<T, float>)
        for (; k + 8 <= n; k += 8) _mm256_storeu_ps(x + k, _mm256_sqrt_ps(_mm256_loadu_ps(x + k)));
#endif
    for (; k < n; ++k) x[k] = std::sqrt(x[k]);
}

struct AdamScalars {
    double b1, b2, omb1, omb2, eps, wd, decay, inv;
};

// One chunk, in tiles: pass 1 (vectorised) updates m, v, vmax and the decayed p and keeps the
// denominator's argument in `vh`; then its square root; pass 2 (vectorised) finishes p. Flags are
// template parameters so each pass is a straight-line loop GCC vectorises.
template <typename T, bool Decoupled, bool UseWd, bool Unscale, bool Ams>
void adam_chunk(const AdamScalars& hs, T neg_step_size, T bc2_sqrt, T* p, const T* g, T* m, T* v, T* vmax,
                int64_t begin, int64_t end) {
    const T b1 = T(hs.b1), b2 = T(hs.b2), omb1 = T(hs.omb1), omb2 = T(hs.omb2), eps = T(hs.eps), wd = T(hs.wd),
            decay = T(hs.decay), inv = T(hs.inv);
    alignas(32) T vh[kTile];
    for (int64_t j0 = begin; j0 < end; j0 += kTile) {
        const int64_t n = std::min(kTile, end - j0);
        T* pt = p + j0;
        const T* gt = g + j0;
        T* mt = m + j0;
        T* vt = v + j0;
        for (int64_t k = 0; k < n; ++k) {
            T d = Unscale ? gt[k] * inv : gt[k];
            T pj = pt[k];
            if constexpr (UseWd) {
                if constexpr (Decoupled)
                    pj = pj * decay;
                else
                    d = d + wd * pj;
            }
            const T mj = mt[k] * b1 + omb1 * d;
            T vj = vt[k] * b2 + omb2 * d * d;
            mt[k] = mj;
            vt[k] = vj;
            if constexpr (Ams) {
                T* vm = vmax + j0;
                vj = vm[k] < vj ? vj : vm[k];
                vm[k] = vj;
            }
            pt[k] = pj;
            vh[k] = vj;
        }
        sqrt_inplace(vh, n);
        for (int64_t k = 0; k < n; ++k) {
            const T denom = vh[k] / bc2_sqrt + eps;
            pt[k] = pt[k] + neg_step_size * mt[k] / denom;
        }
    }
}

template <typename T, bool Decoupled, bool UseWd, bool Unscale>
void adam_chunk_ams(bool ams, const AdamScalars& hs, T nss, T bc2s, T* p, const T* g, T* m, T* v, T* vmax, int64_t b,
                    int64_t e) {
    if (ams)
        adam_chunk<T, Decoupled, UseWd, Unscale, true>(hs, nss, bc2s, p, g, m, v, vmax, b, e);
    else
        adam_chunk<T, Decoupled, UseWd, Unscale, false>(hs, nss, bc2s, p, g, m, v, vmax, b, e);
}

template <typename T, bool Decoupled, bool UseWd>
void adam_chunk_unscale(bool unscale, bool ams, const AdamScalars& hs, T nss, T bc2s, T* p, const T* g, T* m, T* v,
                        T* vmax, int64_t b, int64_t e) {
    if (unscale)
        adam_chunk_ams<T, Decoupled, UseWd, true>(ams, hs, nss, bc2s, p, g, m, v, vmax, b, e);
    else
        adam_chunk_ams<T, Decoupled, UseWd, false>(ams, hs, nss, bc2s, p, g, m, v, vmax, b, e);
}

}  // namespace

template <typename T>
void adam_step_cpu(const AdamParams& hp, const TensorLists<T>& t, const StepCounts& steps, GradScaling scaling) {
    const AdamScalars hs{hp.beta1,
                         hp.beta2,
                         1.0 - hp.beta1,
                         1.0 - hp.beta2,
                         hp.eps,
                         hp.weight_decay,
                         1.0 - hp.lr * hp.weight_decay,
                         scaling.inv_scale ? double(*scaling.inv_scale) : 1.0};
    const bool use_wd = hp.weight_decay != 0.0, unscale = scaling.inv_scale != nullptr;
    for_each_chunk(t.numel, steps, scaling, [&](const ChunkRef& c) {
        const size_t i = size_t(c.tensor);
        T* p = t.lists[0][i];
        const T* g = t.lists[1][i];
        T* m = t.lists[2][i];
        T* v = t.lists[3][i];
        T* vmax = hp.amsgrad ? t.lists[4][i] : nullptr;
        const double step = double(step_of(steps, c.tensor));
        const double bc1 = 1.0 - std::pow(hp.beta1, step), bc2 = 1.0 - std::pow(hp.beta2, step);
        const T nss = T(-(hp.lr / bc1)), bc2s = T(std::sqrt(bc2));
        const int64_t b = c.begin, e = c.end;
        if (!use_wd)
            adam_chunk_unscale<T, false, false>(unscale, hp.amsgrad, hs, nss, bc2s, p, g, m, v, vmax, b, e);
        else if (hp.decoupled_weight_decay)
            adam_chunk_unscale<T, true, true>(unscale, hp.amsgrad, hs, nss, bc2s, p, g, m, v, vmax, b, e);
        else
            adam_chunk_unscale<T, false, true>(unscale, hp.amsgrad, hs, nss, bc2s, p, g, m, v, vmax, b, e);
    });
}

template void sgd_step_cpu<float>(const SgdParams&, const TensorLists<float>&, const StepCounts&, GradScaling);
template void sgd_step_cpu<double>(const SgdParams&, const TensorLists<double>&, const StepCounts&, GradScaling);
template void adam_step_cpu<float>(const AdamParams&, const TensorLists<float>&, const StepCounts&, GradScaling);
template void adam_step_cpu<double>(const AdamParams&, const TensorLists<double>&, const StepCounts&, GradScaling);

}  // namespace segcore::kernels
