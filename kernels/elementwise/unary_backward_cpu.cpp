// CPU reference for the unary gradients (kernels/elementwise/unary_backward.h).
#include "core/parallel.h"
#include "kernels/elementwise/unary_backward.h"
#include "kernels/elementwise/unary_backward_math.h"

namespace segcore::kernels {

template <typename T>
void unary_backward_cpu(const UnaryParams& p, const StridedGeometry<3>& g, T* dx, const T* dy, const T* s) {
    using A = acc_t<T>;
    ew::visit_unary_op(p.op, [&](auto tag) {
        const ew::UnaryGradFn<decltype(tag)::value, A> f{A(p.a), A(p.b)};
        parallel_for(0, g.numel, kDefaultGrain, [&](int64_t begin, int64_t end) {
            if (g.contiguous()) {
                for (int64_t i = begin; i < end; ++i) dx[i] = T(f(A(dy[i]), A(s[i])));
                return;
            }
            for_each_row(g, begin, end, [&](const int64_t* off, int64_t n, const int64_t* st) {
                T* o = dx + off[0];
                const T* d = dy + off[1];
                const T* v = s + off[2];
                for (int64_t i = 0; i < n; ++i) o[i * st[0]] = T(f(A(d[i * st[1]]), A(v[i * st[2]])));
            });
        });
    });
}

template void unary_backward_cpu<float>(const UnaryParams&, const StridedGeometry<3>&, float*, const float*,
                                        const float*);
template void unary_backward_cpu<double>(const UnaryParams&, const StridedGeometry<3>&, double*, const double*,
                                         const double*);
template void unary_backward_cpu<Half>(const UnaryParams&, const StridedGeometry<3>&, Half*, const Half*,
                                       const Half*);
template void unary_backward_cpu<BFloat16>(const UnaryParams&, const StridedGeometry<3>&, BFloat16*,
                                           const BFloat16*, const BFloat16*);

}  // namespace segcore::kernels
