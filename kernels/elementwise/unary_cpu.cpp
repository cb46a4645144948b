// CPU reference for the unary elementwise ops (kernels/elementwise/unary.h).
#include <algorithm>
#include <type_traits>

#include "core/parallel.h"
#include "kernels/elementwise/elementwise_cpu.h"
#include "kernels/elementwise/elementwise_math.h"
#include "kernels/elementwise/unary.h"

namespace segcore::kernels {

namespace {

template <typename T, typename F>
void unary_loop(const StridedGeometry<2>& g, T* y, const T* x, F f) {
    using A = acc_t<T>;
    if (g.contiguous()) {
        // The hot path: a plain indexed loop the compiler vectorises for f32/f64 (y may equal x,
        // so no __restrict__; GCC adds its own overlap check).
        const bool streaming = ew::use_streaming_stores(g.numel, sizeof(T), y, x);
        if constexpr (std::is_same_v<T, Half>) {  // through f32 blocks (elementwise_cpu.h)
            parallel_for(0, g.numel, kDefaultGrain, [&](int64_t begin, int64_t end) {
                alignas(32) float buf[ew::kHalfBlock];
                for (int64_t i = begin; i < end; i += ew::kHalfBlock) {
                    const int64_t n = std::min(ew::kHalfBlock, end - i);
                    half_to_float(x + i, buf, n);
                    for (int64_t j = 0; j < n; ++j) buf[j] = f(buf[j]);
                    float_to_half(buf, y + i, n, streaming);
                }
                if (streaming) streaming_fence();
            });
            return;
        }
        parallel_for(0, g.numel, kDefaultGrain, [&](int64_t begin, int64_t end) {
            ew::store_contiguous(y, begin, end, streaming,
                                 [&](int64_t i) { return ew::from_acc<T>(f(ew::to_acc<A>(x[i]))); });
        });
        return;
    }
    parallel_for(0, g.numel, kDefaultGrain, [&](int64_t begin, int64_t end) {
        for_each_row(g, begin, end, [&](const int64_t* off, int64_t n, const int64_t* st) {
            T* yo = y + off[0];
            const T* xo = x + off[1];
            if (st[0] == 1 && st[1] == 1) {
                for (int64_t i = 0; i < n; ++i) yo[i] = ew::from_acc<T>(f(ew::to_acc<A>(xo[i])));
            } else {
                for (int64_t i = 0; i < n; ++i) yo[i * st[0]] = ew::from_acc<T>(f(ew::to_acc<A>(xo[i * st[1]])));
            }
        });
    });
}

}  // namespace

template <typename T>
void unary_cpu(const UnaryParams& p, const StridedGeometry<2>& g, T* y, const T* x) {
    using A = acc_t<T>;
    ew::visit_unary_op(p.op, [&](auto tag) {
        constexpr UnaryOp Op = decltype(tag)::value;
        if constexpr (Op == UnaryOp::Pow) {
            // Common exponents skip powf: x*x and sqrt are exact where pow is merely close.
            if (p.a == 2.0) return unary_loop(g, y, x, ew::UnaryFn<UnaryOp::Square, A>{A(0), A(0)});
            if (p.a == 1.0) return unary_loop(g, y, x, [](A v) { return v; });
            if (p.a == 0.5) return unary_loop(g, y, x, ew::UnaryFn<UnaryOp::Sqrt, A>{A(0), A(0)});
        }
        unary_loop(g, y, x, ew::UnaryFn<Op, A>{A(p.a), A(p.b)});
    });
}

template void unary_cpu<float>(const UnaryParams&, const StridedGeometry<2>&, float*, const float*);
template void unary_cpu<double>(const UnaryParams&, const StridedGeometry<2>&, double*, const double*);
template void unary_cpu<Half>(const UnaryParams&, const StridedGeometry<2>&, Half*, const Half*);
template void unary_cpu<BFloat16>(const UnaryParams&, const StridedGeometry<2>&, BFloat16*, const BFloat16*);

}  // namespace segcore::kernels
