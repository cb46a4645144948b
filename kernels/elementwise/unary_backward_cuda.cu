// CUDA unary gradients (kernels/elementwise/unary_backward.h). CPU reference:
// unary_backward_cpu.cpp; both evaluate unary_backward_math.h.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/elementwise/unary_backward.h"
#include "kernels/elementwise/unary_backward_math.h"

namespace segcore::kernels {

namespace {

using cuda::convert;
using cuda::dacc_t;

// Backward passes are memory-bound like the forward ones; a grid-stride loop with the contiguous
// case free of index arithmetic is within a few percent of the packed forward path here, since
// three streams (dy, s, dx) already keep enough bytes in flight.
template <typename T, typename F>
__global__ void unary_backward_kernel(StridedGeometry<3> g, T* dx, const T* dy, const T* s, F f, bool contiguous) {
    using A = dacc_t<T>;
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
        if (contiguous) {
            dx[i] = convert<T>(f(convert<A>(dy[i]), convert<A>(s[i])));
        } else {
            int64_t off[3];
            cuda::offsets_of(g, i, off);
            dx[off[0]] = convert<T>(f(convert<A>(dy[off[1]]), convert<A>(s[off[2]])));
        }
    }
}

}  // namespace

template <typename T>
void unary_backward_cuda(const UnaryParams& p, const StridedGeometry<3>& g, T* dx, const T* dy, const T* s,
                         Stream st) {
    using D = cuda::device_t<T>;
    using A = dacc_t<D>;
    ew::visit_unary_op(p.op, [&](auto tag) {
        using F = ew::UnaryGradFn<decltype(tag)::value, A>;
        unary_backward_kernel<D, F><<<cuda::grid_for(g.numel), cuda::kBlock, 0, to_cuda(st.handle)>>>(
            g, cuda::dev_ptr(dx), cuda::dev_ptr(dy), cuda::dev_ptr(s), F{A(p.a), A(p.b)}, g.contiguous());
        SEGCORE_CUDA_LAUNCH_CHECK();
    });
}

template void unary_backward_cuda<float>(const UnaryParams&, const StridedGeometry<3>&, float*, const float*,
                                         const float*, Stream);
template void unary_backward_cuda<Half>(const UnaryParams&, const StridedGeometry<3>&, Half*, const Half*,
                                        const Half*, Stream);
template void unary_backward_cuda<BFloat16>(const UnaryParams&, const StridedGeometry<3>&, BFloat16*,
                                            const BFloat16*, const BFloat16*, Stream);

}  // namespace segcore::kernels
