// CUDA unary elementwise ops (kernels/elementwise/unary.h). CPU reference: unary_cpu.cpp; both use
// the formulas of elementwise_math.h.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/elementwise/elementwise_cuda.cuh"
#include "kernels/elementwise/elementwise_math.h"
#include "kernels/elementwise/unary.h"

namespace segcore::kernels {

namespace {

using cuda::convert;
using cuda::dacc_t;

// Contiguous, 16-byte-aligned operands: packed loads/stores, no index arithmetic; the n % kSize
// tail is handled element by element.
template <typename T, typename F>
__global__ void unary_contiguous_kernel(int64_t n, T* y, const T* x, F f) {
    using A = dacc_t<T>;
    using P = ew::Pack16<T>;
    constexpr int V = P::kSize;
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    const int64_t packs = n / V;
    for (int64_t i = tid; i < packs; i += stride) {
        const P in = reinterpret_cast<const P*>(x)[i];
        P out;
#pragma unroll
        for (int k = 0; k < V; ++k) out.v[k] = convert<T>(f(convert<A>(in.v[k])));
        reinterpret_cast<P*>(y)[i] = out;
    }
    for (int64_t i = packs * V + tid; i < n; i += stride) y[i] = convert<T>(f(convert<A>(x[i])));
}

// Any layout: one element per thread per step, offsets from the geometry (int64).
template <typename T, typename F>
__global__ void unary_strided_kernel(StridedGeometry<2> g, T* y, const T* x, F f) {
    using A = dacc_t<T>;
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
        int64_t off[2];
        cuda::offsets_of(g, i, off);
        y[off[0]] = convert<T>(f(convert<A>(x[off[1]])));
    }
}

template <typename T, typename F>
void launch_unary(const StridedGeometry<2>& g, T* y, const T* x, F f, cudaStream_t stream) {
    if (g.contiguous() && ew::aligned16(y) && ew::aligned16(x)) {
        const int64_t packs = std::max<int64_t>(1, g.numel / ew::Pack16<T>::kSize);
        unary_contiguous_kernel<T, F><<<cuda::grid_for(packs), cuda::kBlock, 0, stream>>>(g.numel, y, x, f);
    } else {
        unary_strided_kernel<T, F><<<cuda::grid_for(g.numel), cuda::kBlock, 0, stream>>>(g, y, x, f);
    }
    SEGCORE_CUDA_LAUNCH_CHECK();
}

}  // namespace

template <typename T>
void unary_cuda(const UnaryParams& p, const StridedGeometry<2>& g, T* y, const T* x, Stream s) {
    using D = cuda::device_t<T>;
    using A = dacc_t<D>;
    D* yd = cuda::dev_ptr(y);
    const D* xd = cuda::dev_ptr(x);
    ew::visit_unary_op(p.op, [&](auto tag) {
        constexpr UnaryOp Op = decltype(tag)::value;
        if constexpr (Op == UnaryOp::Pow) {
            // As on the CPU: the common exponents avoid powf and match the CPU exactly.
            if (p.a == 2.0)
                return launch_unary(g, yd, xd, ew::UnaryFn<UnaryOp::Square, A>{A(0), A(0)}, to_cuda(s.handle));
            if (p.a == 0.5)
                return launch_unary(g, yd, xd, ew::UnaryFn<UnaryOp::Sqrt, A>{A(0), A(0)}, to_cuda(s.handle));
        }
        launch_unary(g, yd, xd, ew::UnaryFn<Op, A>{A(p.a), A(p.b)}, to_cuda(s.handle));
    });
}

template void unary_cuda<float>(const UnaryParams&, const StridedGeometry<2>&, float*, const float*, Stream);
template void unary_cuda<Half>(const UnaryParams&, const StridedGeometry<2>&, Half*, const Half*, Stream);
template void unary_cuda<BFloat16>(const UnaryParams&, const StridedGeometry<2>&, BFloat16*, const BFloat16*, Stream);

}  // namespace segcore::kernels
