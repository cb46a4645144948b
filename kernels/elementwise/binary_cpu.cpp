// CPU reference for the binary elementwise ops and comparisons (kernels/elementwise/binary.h).
#include <algorithm>
#include <type_traits>

#include "core/parallel.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/elementwise_cpu.h"
#include "kernels/elementwise/elementwise_math.h"

namespace segcore::kernels {

namespace {

// out[i] = f(a[i], b[i]) over (out, a, b); O is the output element type (T, or bool for comparisons).
template <typename O, typename T, typename F>
void binary_loop(const StridedGeometry<3>& g, O* out, const T* a, const T* b, F f) {
    using A = acc_t<T>;
    if (g.contiguous()) {
        // The hot path: a plain indexed loop the compiler vectorises (out may equal a or b, so no
        // __restrict__; GCC adds its own overlap check).
        const bool streaming = ew::use_streaming_stores(g.numel, sizeof(O), out, a, b);
        if constexpr (std::is_same_v<T, Half> && std::is_same_v<O, Half>) {  // through f32 blocks
            parallel_for(0, g.numel, kDefaultGrain, [&](int64_t begin, int64_t end) {
                alignas(32) float xa[ew::kHalfBlock], xb[ew::kHalfBlock];
                for (int64_t i = begin; i < end; i += ew::kHalfBlock) {
                    const int64_t n = std::min(ew::kHalfBlock, end - i);
                    half_to_float(a + i, xa, n);
                    half_to_float(b + i, xb, n);
                    for (int64_t j = 0; j < n; ++j) xa[j] = f(xa[j], xb[j]);
                    float_to_half(xa, out + i, n, streaming);
                }
                if (streaming) streaming_fence();
            });
            return;
        }
        parallel_for(0, g.numel, kDefaultGrain, [&](int64_t begin, int64_t end) {
            ew::store_contiguous(out, begin, end, streaming, [&](int64_t i) {
                return ew::from_acc<O>(f(ew::to_acc<A>(a[i]), ew::to_acc<A>(b[i])));
            });
        });
        return;
    }
    parallel_for(0, g.numel, kDefaultGrain, [&](int64_t begin, int64_t end) {
        for_each_row(g, begin, end, [&](const int64_t* off, int64_t n, const int64_t* st) {
            O* o = out + off[0];
            const T* x = a + off[1];
            const T* y = b + off[2];
            // Broadcasting a per-channel or scalar operand leaves it constant along the row
            // (stride 0): hoist it so the row stays a dense, vectorisable loop.
            if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
                for (int64_t i = 0; i < n; ++i) o[i] = ew::from_acc<O>(f(ew::to_acc<A>(x[i]), ew::to_acc<A>(y[i])));
            } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
                const A yv = ew::to_acc<A>(y[0]);
                for (int64_t i = 0; i < n; ++i) o[i] = ew::from_acc<O>(f(ew::to_acc<A>(x[i]), yv));
            } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
                const A xv = ew::to_acc<A>(x[0]);
                for (int64_t i = 0; i < n; ++i) o[i] = ew::from_acc<O>(f(xv, ew::to_acc<A>(y[i])));
            } else {
                for (int64_t i = 0; i < n; ++i)
                    o[i * st[0]] = ew::from_acc<O>(f(ew::to_acc<A>(x[i * st[1]]), ew::to_acc<A>(y[i * st[2]])));
            }
        });
    });
}

}  // namespace

template <typename T>
void binary_cpu(const BinaryParams& p, const StridedGeometry<3>& g, T* out, const T* a, const T* b) {
    using A = acc_t<T>;
    ew::visit_binary_op(p.op, [&](auto tag) {
        constexpr BinaryOp Op = decltype(tag)::value;
        binary_loop(g, out, a, b, ew::BinaryFn<Op, A>{A(p.alpha)});
    });
}

template <typename T>
void compare_cpu(CompareOp op, const StridedGeometry<3>& g, bool* out, const T* a, const T* b) {
    ew::visit_compare_op(op, [&](auto tag) {
        constexpr CompareOp Op = decltype(tag)::value;
        binary_loop(g, out, a, b, ew::CompareFn<Op>{});
    });
}

#define SEGCORE_INSTANTIATE_BINARY(T) \
    template void binary_cpu<T>(const BinaryParams&, const StridedGeometry<3>&, T*, const T*, const T*);
SEGCORE_INSTANTIATE_BINARY(float)
SEGCORE_INSTANTIATE_BINARY(double)
SEGCORE_INSTANTIATE_BINARY(Half)
SEGCORE_INSTANTIATE_BINARY(BFloat16)
#undef SEGCORE_INSTANTIATE_BINARY

#define SEGCORE_INSTANTIATE_COMPARE(T) \
    template void compare_cpu<T>(CompareOp, const StridedGeometry<3>&, bool*, const T*, const T*);
SEGCORE_INSTANTIATE_COMPARE(float)
SEGCORE_INSTANTIATE_COMPARE(double)
SEGCORE_INSTANTIATE_COMPARE(Half)
SEGCORE_INSTANTIATE_COMPARE(BFloat16)
SEGCORE_INSTANTIATE_COMPARE(int32_t)
SEGCORE_INSTANTIATE_COMPARE(int64_t)
SEGCORE_INSTANTIATE_COMPARE(uint8_t)
SEGCORE_INSTANTIATE_COMPARE(bool)
#undef SEGCORE_INSTANTIATE_COMPARE

}  // namespace segcore::kernels
