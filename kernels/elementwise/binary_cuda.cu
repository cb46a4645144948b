// CUDA binary elementwise ops and comparisons (kernels/elementwise/binary.h). CPU reference:
// binary_cpu.cpp; both use the formulas of elementwise_math.h.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/elementwise_cuda.cuh"
#include "kernels/elementwise/elementwise_math.h"

namespace segcore::kernels {

namespace {

using cuda::convert;
using cuda::dacc_t;

// Contiguous, 16-byte-aligned operands (no broadcasting): packed loads/stores and no index
// arithmetic; the n % kSize tail is handled element by element.
template <typename T, typename F>
__global__ void binary_contiguous_kernel(int64_t n, T* out, const T* a, const T* b, F f) {
    using A = dacc_t<T>;
    using P = ew::Pack16<T>;
    constexpr int V = P::kSize;
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    const int64_t packs = n / V;
    for (int64_t i = tid; i < packs; i += stride) {
        const P pa = reinterpret_cast<const P*>(a)[i];
        const P pb = reinterpret_cast<const P*>(b)[i];
        P po;
#pragma unroll
        for (int k = 0; k < V; ++k) po.v[k] = convert<T>(f(convert<A>(pa.v[k]), convert<A>(pb.v[k])));
        reinterpret_cast<P*>(out)[i] = po;
    }
    for (int64_t i = packs * V + tid; i < n; i += stride) out[i] = convert<T>(f(convert<A>(a[i]), convert<A>(b[i])));
}

// Any layout and broadcasting (stride-0 operands); O is T, or bool for comparisons. The
// contiguous flag skips the offset arithmetic for dense operands the packed path cannot take
// (bool outputs, unaligned views).
template <typename O, typename T, typename F>
__global__ void binary_strided_kernel(StridedGeometry<3> g, O* out, const T* a, const T* b, F f, bool contiguous) {
    using A = dacc_t<T>;
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
        if (contiguous) {
            out[i] = convert<O>(f(convert<A>(a[i]), convert<A>(b[i])));
        } else {
            int64_t off[3];
            cuda::offsets_of(g, i, off);
            out[off[0]] = convert<O>(f(convert<A>(a[off[1]]), convert<A>(b[off[2]])));
        }
    }
}

}  // namespace

template <typename T>
void binary_cuda(const BinaryParams& p, const StridedGeometry<3>& g, T* out, const T* a, const T* b, Stream s) {
    using D = cuda::device_t<T>;
    using A = dacc_t<D>;
    D* od = cuda::dev_ptr(out);
    const D* ad = cuda::dev_ptr(a);
    const D* bd = cuda::dev_ptr(b);
    const cudaStream_t stream = to_cuda(s.handle);
    ew::visit_binary_op(p.op, [&](auto tag) {
        using F = ew::BinaryFn<decltype(tag)::value, A>;
        const F f{A(p.alpha)};
        if (g.contiguous() && ew::aligned16(od) && ew::aligned16(ad) && ew::aligned16(bd)) {
            const int64_t packs = std::max<int64_t>(1, g.numel / ew::Pack16<D>::kSize);
            binary_contiguous_kernel<D, F><<<cuda::grid_for(packs), cuda::kBlock, 0, stream>>>(g.numel, od, ad, bd, f);
        } else {
            binary_strided_kernel<D, D, F>
                <<<cuda::grid_for(g.numel), cuda::kBlock, 0, stream>>>(g, od, ad, bd, f, g.contiguous());
        }
        SEGCORE_CUDA_LAUNCH_CHECK();
    });
}

template <typename T>
void compare_cuda(CompareOp op, const StridedGeometry<3>& g, bool* out, const T* a, const T* b, Stream s) {
    using D = cuda::device_t<T>;
    ew::visit_compare_op(op, [&](auto tag) {
        using F = ew::CompareFn<decltype(tag)::value>;
        binary_strided_kernel<bool, D, F><<<cuda::grid_for(g.numel), cuda::kBlock, 0, to_cuda(s.handle)>>>(
            g, out, cuda::dev_ptr(a), cuda::dev_ptr(b), F{}, g.contiguous());
        SEGCORE_CUDA_LAUNCH_CHECK();
    });
}

template void binary_cuda<float>(const BinaryParams&, const StridedGeometry<3>&, float*, const float*, const float*,
                                 Stream);
template void binary_cuda<Half>(const BinaryParams&, const StridedGeometry<3>&, Half*, const Half*, const Half*,
                                Stream);
template void binary_cuda<BFloat16>(const BinaryParams&, const StridedGeometry<3>&, BFloat16*, const BFloat16*,
                                    const BFloat16*, Stream);

#define SEGCORE_INSTANTIATE_COMPARE(T) \
    template void compare_cuda<T>(CompareOp, const StridedGeometry<3>&, bool*, const T*, const T*, Stream);
SEGCORE_INSTANTIATE_COMPARE(float)
SEGCORE_INSTANTIATE_COMPARE(Half)
SEGCORE_INSTANTIATE_COMPARE(BFloat16)
SEGCORE_INSTANTIATE_COMPARE(int32_t)
SEGCORE_INSTANTIATE_COMPARE(int64_t)
SEGCORE_INSTANTIATE_COMPARE(uint8_t)
#undef SEGCORE_INSTANTIATE_COMPARE

}  // namespace segcore::kernels
