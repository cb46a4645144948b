// CUDA fused optimiser updates (kernels/optim/fused_optim.h). CPU reference: fused_optim_cpu.cpp.
//
// One launch per parameter group (multi_tensor_cuda.cuh): the chunk table carries every tensor's
// pointers, size and step count; blocks walk the chunks, each thread moving float4 words of p, g
// and the state. The update reads 4 (SGD+momentum: 3) and writes 3 (2) f32 words per parameter, so
// it is bound by HBM bandwidth; the bias corrections (two double pows) are computed once per chunk
// per thread, which is noise next to the 64 elements a thread updates per chunk.
//
// Loss scaling: found_inf is read on the device at the start of the kernel; when set, every block
// returns after bumping the skip counters, so the step is skipped with no host sync.
#include <cmath>
#include <type_traits>

#include "core/cuda/cuda_check.h"
#include "kernels/optim/fused_optim.h"
#include "kernels/optim/multi_tensor_cuda.cuh"

namespace segcore::kernels {

namespace {

using mt::ChunkTable;

__device__ __forceinline__ int64_t step_of(int64_t step, const float* skipped) {
    return step - (skipped ? int64_t(*skipped) : 0);
}

struct SgdDev {
    float lr, mu, damp, wd;
    bool use_wd, nesterov;
};

template <int Depth>  // 2: no momentum, 3: momentum buffer
__global__ void __launch_bounds__(mt::kBlock)
    sgd_step_kernel(const __grid_constant__ ChunkTable<Depth> t, int32_t chunks, SgdDev hp, GradScaling sc) {
    if (sc.found_inf && *sc.found_inf != 0.0f) {
        mt::count_skip(t);
        return;
    }
    const bool unscale = sc.inv_scale != nullptr;
    const float inv = unscale ? *sc.inv_scale : 1.0f;
    for (int32_t c = blockIdx.x; c < chunks; c += gridDim.x) {
        const auto pos = mt::chunk_pos(t, c);
        const bool first = step_of(t.step[pos.tensor], t.skipped[pos.tensor]) == 1;
        float* base[Depth];
#pragma unroll
        for (int d = 0; d < Depth; ++d) base[d] = t.ptr[d][pos.tensor] + pos.begin;
        constexpr unsigned kWrite = Depth == 3 ? 0b101u : 0b001u;
        mt::apply_chunk<Depth, kWrite>(base, pos.n, [&](float(&e)[Depth]) {
            float d = unscale ? e[1] * inv : e[1];
            if (hp.use_wd) d = d + hp.wd * e[0];
            if constexpr (Depth == 3) {
                const float b = first ? d : hp.mu * e[2] + hp.damp * d;
                e[2] = b;
                d = hp.nesterov ? d + hp.mu * b : b;
            }
            e[0] = e[0] + (-hp.lr) * d;
        });
    }
}

struct AdamDev {
    double lr, beta1, beta2;  // for the bias corrections, computed in double as on the CPU
    float b1, b2, omb1, omb2, eps, wd, decay;
    bool use_wd, decoupled;
};

template <int Depth>  // 4: Adam/AdamW, 5: with amsgrad
__global__ void __launch_bounds__(mt::kBlock)
    adam_step_kernel(const __grid_constant__ ChunkTable<Depth> t, int32_t chunks, AdamDev hp, GradScaling sc) {
    if (sc.found_inf && *sc.found_inf != 0.0f) {
        mt::count_skip(t);
        return;
    }
    const bool unscale = sc.inv_scale != nullptr;
    const float inv = unscale ? *sc.inv_scale : 1.0f;
    for (int32_t c = blockIdx.x; c < chunks; c += gridDim.x) {
        const auto pos = mt::chunk_pos(t, c);
        const double step = double(step_of(t.step[pos.tensor], t.skipped[pos.tensor]));
        const double bc1 = 1.0 - pow(hp.beta1, step), bc2 = 1.0 - pow(hp.beta2, step);
        const float neg_step_size = float(-(hp.lr / bc1)), bc2_sqrt = float(sqrt(bc2));
        float* base[Depth];
#pragma unroll
        for (int d = 0; d < Depth; ++d) base[d] = t.ptr[d][pos.tensor] + pos.begin;
        constexpr unsigned kWrite = Depth == 5 ? 0b11101u : 0b01101u;
        mt::apply_chunk<Depth, kWrite>(base, pos.n, [&](float(&e)[Depth]) {
            float d = unscale ? e[1] * inv : e[1];
            float p = e[0];
            if (hp.use_wd) {
                if (hp.decoupled)
                    p = p * hp.decay;
                else
                    d = d + hp.wd * p;
            }
            const float m = e[2] * hp.b1 + hp.omb1 * d;
            float v = e[3] * hp.b2 + hp.omb2 * d * d;
            e[2] = m;
            e[3] = v;
            if constexpr (Depth == 5) {
                v = e[4] < v ? v : e[4];
                e[4] = v;
            }
            const float denom = sqrtf(v) / bc2_sqrt + hp.eps;
            e[0] = p + neg_step_size * m / denom;
        });
    }
}

template <int Depth, typename Kernel, typename HP>
void launch_tables(Kernel kernel, const TensorLists<float>& t, const StepCounts& steps, const HP& hp, GradScaling sc,
                   Stream s) {
    mt::for_each_table<Depth>(t, &steps, [&](const ChunkTable<Depth>& table, int32_t chunks) {
        kernel<<<mt::grid_for_chunks(chunks), mt::kBlock, 0, to_cuda(s.handle)>>>(table, chunks, hp, sc);
        SEGCORE_CUDA_LAUNCH_CHECK();
    });
}

}  // namespace

template <typename T>
void sgd_step_cuda(const SgdParams& p, const TensorLists<T>& t, const StepCounts& steps, GradScaling sc, Stream s) {
    static_assert(std::is_same_v<T, float>, "the fused CUDA optimisers are f32 (master weights)");
    const SgdDev hp{float(p.lr),           float(p.momentum),     float(1.0 - p.dampening),
                    float(p.weight_decay), p.weight_decay != 0.0, p.nesterov};
    if (p.momentum != 0.0)
        launch_tables<3>(sgd_step_kernel<3>, t, steps, hp, sc, s);
    else
        launch_tables<2>(sgd_step_kernel<2>, t, steps, hp, sc, s);
}

template <typename T>
void adam_step_cuda(const AdamParams& p, const TensorLists<T>& t, const StepCounts& steps, GradScaling sc, Stream s) {
    static_assert(std::is_same_v<T, float>, "the fused CUDA optimisers are f32 (master weights)");
    const AdamDev hp{p.lr,
                     p.beta1,
                     p.beta2,
                     float(p.beta1),
                     float(p.beta2),
                     float(1.0 - p.beta1),
                     float(1.0 - p.beta2),
                     float(p.eps),
                     float(p.weight_decay),
                     float(1.0 - p.lr * p.weight_decay),
                     p.weight_decay != 0.0,
                     p.decoupled_weight_decay};
    if (p.amsgrad)
        launch_tables<5>(adam_step_kernel<5>, t, steps, hp, sc, s);
    else
        launch_tables<4>(adam_step_kernel<4>, t, steps, hp, sc, s);
}

template void sgd_step_cuda<float>(const SgdParams&, const TensorLists<float>&, const StepCounts&, GradScaling, Stream);
template void adam_step_cuda<float>(const AdamParams&, const TensorLists<float>&, const StepCounts&, GradScaling,
                                    Stream);

}  // namespace segcore::kernels
