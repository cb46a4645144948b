// CUDA interpolate (kernels/resize/interpolate.h). CPU reference: interpolate_cpu.cpp.
//
// Forward: one thread per output element, consecutive threads on consecutive output columns (the
// two source rows they read are shared through L1/L2; the stores coalesce). Coordinates and sums
// in f32 for every dtype, using the same host/device tap functions as the CPU.
// Backward: a GATHER — one thread per input pixel. The output rows that read input row h form one
// contiguous range [lower_bound(h - 1), lower_bound(h + 1)) for bilinear (an output reads rows i0
// and i0 + 1) and [lower_bound(h), lower_bound(h + 1)) for nearest; likewise for columns. The
// thread sums weight_row * weight_col * dy over that rectangle in (p, q) order: every input
// gradient is written exactly once, no atomics, bitwise reproducible — the scatter PyTorch uses
// needs atomicAdd and is order-dependent (DESIGN.md: "bilinear upsampling backward is a gather").
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/resize/interpolate.h"

namespace segcore::kernels {

namespace {

using cuda::convert;

template <typename T>
__global__ void interpolate_forward_kernel(InterpParams p, const T* __restrict__ x, T* __restrict__ y) {
    const int64_t total = p.planes() * p.oh * p.ow;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, pl = i / (p.oh * p.ow);
        const T* xp = x + pl * p.ih * p.iw;
        if (p.mode != InterpMode::Bilinear) {
            const bool exact = p.mode == InterpMode::NearestExact;
            const int64_t sh = nearest_src(oy, p.ih, p.oh, p.scale_h, exact);
            const int64_t sw = nearest_src(ox, p.iw, p.ow, p.scale_w, exact);
            y[i] = xp[sh * p.iw + sw];
            continue;
        }
        const LinearTap<float> h = linear_tap<float>(oy, p.ih, p.oh, p.align_corners, p.scale_h);
        const LinearTap<float> w = linear_tap<float>(ox, p.iw, p.ow, p.align_corners, p.scale_w);
        const T* r0 = xp + h.i0 * p.iw;
        const T* r1 = xp + h.i1 * p.iw;
        const float v = h.l0 * (w.l0 * convert<float>(r0[w.i0]) + w.l1 * convert<float>(r0[w.i1])) +
                        h.l1 * (w.l0 * convert<float>(r1[w.i0]) + w.l1 * convert<float>(r1[w.i1]));
        y[i] = convert<T>(v);
    }
}

// Weight that output index o along one axis gives input index s.
__device__ __forceinline__ float axis_weight(const InterpParams& p, bool rows, int64_t o, int64_t s) {
    if (p.mode != InterpMode::Bilinear) return 1.0f;  // o is in the range only if it reads s
    const LinearTap<float> t = rows ? linear_tap<float>(o, p.ih, p.oh, p.align_corners, p.scale_h)
                                    : linear_tap<float>(o, p.iw, p.ow, p.align_corners, p.scale_w);
    return (t.i0 == s ? t.l0 : 0.0f) + (t.i1 == s ? t.l1 : 0.0f);
}

template <typename T>
__global__ void interpolate_backward_kernel(InterpParams p, const T* __restrict__ dy, T* __restrict__ dx) {
    const int64_t total = p.planes() * p.ih * p.iw;
    const int64_t back = p.mode == InterpMode::Bilinear ? 1 : 0;  // bilinear outputs also read row i0 + 1
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t w = i % p.iw, h = (i / p.iw) % p.ih, pl = i / (p.ih * p.iw);
        const int64_t p0 = interp_lower_bound(p, true, h - back), p1 = interp_lower_bound(p, true, h + 1);
        const int64_t q0 = interp_lower_bound(p, false, w - back), q1 = interp_lower_bound(p, false, w + 1);
        const T* dyp = dy + pl * p.oh * p.ow;
        float acc = 0.0f;
        for (int64_t oy = p0; oy < p1; ++oy) {
            const float wh = axis_weight(p, true, oy, h);
            const T* dyr = dyp + oy * p.ow;
            for (int64_t ox = q0; ox < q1; ++ox) acc += wh * axis_weight(p, false, ox, w) * convert<float>(dyr[ox]);
        }
        dx[i] = convert<T>(acc);
    }
}

}  // namespace

template <typename T>
void interpolate_forward_cuda(const InterpParams& p, const T* x, T* y, Stream st) {
    using D = cuda::device_t<T>;
    const int64_t total = p.planes() * p.oh * p.ow;
    interpolate_forward_kernel<D>
        <<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(st.handle)>>>(p, cuda::dev_ptr(x), cuda::dev_ptr(y));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void interpolate_backward_cuda(const InterpParams& p, const T* dy, T* dx, Stream st) {
    using D = cuda::device_t<T>;
    const int64_t total = p.planes() * p.ih * p.iw;
    interpolate_backward_kernel<D>
        <<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(st.handle)>>>(p, cuda::dev_ptr(dy), cuda::dev_ptr(dx));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

#define SEGCORE_INSTANTIATE(T)                                                            \
    template void interpolate_forward_cuda<T>(const InterpParams&, const T*, T*, Stream); \
    template void interpolate_backward_cuda<T>(const InterpParams&, const T*, T*, Stream);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(Half)
SEGCORE_INSTANTIATE(BFloat16)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
