// CPU reference for depthwise conv2d (kernels/conv/depthwise_conv2d.h): direct loops, parallel
// over planes (forward, input gradient) or filters (weight gradient).
#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "kernels/conv/depthwise_conv2d.h"

namespace segcore::kernels {

namespace {
// The range of output indices p with 0 <= p*stride - pad + r*dil < size (so the row is inside).
inline void valid_range(int64_t size, int64_t out, int64_t stride, int64_t pad, int64_t off, int64_t& lo, int64_t& hi) {
    // p*stride >= pad - off  and  p*stride <= size - 1 + pad - off
    const int64_t a = pad - off, b = size - 1 + pad - off;
    lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    hi = b < 0 ? -1 : std::min(out - 1, b / stride);
}

// Calls row(tap, pp, base, qlo, qhi) for every filter tap (tap = r * S + s) and every output row
// pp that tap reaches, with the columns [qlo, qhi] it reaches: output (pp, qq) reads input offset
// base + qq * stride_w of the plane. Offsets stay integers: a padded row's start lies before the
// plane. All three passes are this loop nest with a different row operation.
template <typename Row>
void for_each_tap_row(const Conv2dParams& p, Row&& row) {
    for (int64_t r = 0; r < p.r; ++r) {
        int64_t plo, phi;
        valid_range(p.h, p.p, p.stride_h, p.pad_h, r * p.dil_h, plo, phi);
        for (int64_t s = 0; s < p.s; ++s) {
            int64_t qlo, qhi;
            valid_range(p.w, p.q, p.stride_w, p.pad_w, s * p.dil_w, qlo, qhi);
            if (qlo > qhi) continue;
            for (int64_t pp = plo; pp <= phi; ++pp)
                row(r * p.s + s, pp, (pp * p.stride_h - p.pad_h + r * p.dil_h) * p.w - p.pad_w + s * p.dil_w, qlo, qhi);
        }
    }
}
}  // namespace

template <typename T>
void depthwise_conv2d_forward_cpu(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y) {
    const int64_t m = p.k / p.c;
    parallel_for(0, p.n * p.k, 1, [&](int64_t b, int64_t e) {
        for (int64_t plane = b; plane < e; ++plane) {
            const int64_t n = plane / p.k, k = plane % p.k;
            const T* xc = x + (n * p.c + k / m) * p.h * p.w;
            const T* wk = w + k * p.r * p.s;
            T* yk = y + plane * p.p * p.q;
            const T b0 = bias ? bias[k] : T(0);
            for (int64_t i = 0; i < p.p * p.q; ++i) yk[i] = b0;
            // Tap-outer loops: for a fixed tap the inner loop is a strided axpy over a row.
            for_each_tap_row(p, [&](int64_t tap, int64_t pp, int64_t base, int64_t qlo, int64_t qhi) {
                const T wv = wk[tap];
                T* yr = yk + pp * p.q;
                for (int64_t qq = qlo; qq <= qhi; ++qq) yr[qq] += wv * xc[base + qq * p.stride_w];
            });
            if (p.act != Act::None)
                for (int64_t i = 0; i < p.p * p.q; ++i) yk[i] = act_forward(p.act, yk[i]);
        }
    });
}

template <typename T>
void depthwise_conv2d_backward_input_cpu(const Conv2dParams& p, const T* dy, const T* w, T* dx) {
    const int64_t m = p.k / p.c;
    // Per input plane, the adjoint of the forward loops: the same taps, reading dy, adding into dx.
    parallel_for(0, p.n * p.c, 1, [&](int64_t b, int64_t e) {
        for (int64_t plane = b; plane < e; ++plane) {
            const int64_t n = plane / p.c, c = plane % p.c;
            T* dxc = dx + plane * p.h * p.w;
            std::fill(dxc, dxc + p.h * p.w, T(0));
            for (int64_t j = 0; j < m; ++j) {
                const int64_t k = c * m + j;
                const T* dyk = dy + (n * p.k + k) * p.p * p.q;
                const T* wk = w + k * p.r * p.s;
                for_each_tap_row(p, [&](int64_t tap, int64_t pp, int64_t base, int64_t qlo, int64_t qhi) {
                    const T wv = wk[tap];
                    const T* g = dyk + pp * p.q;
                    for (int64_t qq = qlo; qq <= qhi; ++qq) dxc[base + qq * p.stride_w] += wv * g[qq];
                });
            }
        }
    });
}

template <typename T>
void depthwise_conv2d_backward_weight_cpu(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db) {
    const int64_t m = p.k / p.c;
    parallel_for(0, p.k, 1, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
            // Per tap, row by row: a vectorised dot product in T (Eigen), summed in double in a
            // fixed order (taps, images, rows) — fast and still deterministic.
            std::vector<double> acc(static_cast<size_t>(p.r * p.s), 0.0);  // one sum per tap, any filter size
            for (int64_t n = 0; n < p.n; ++n) {
                const T* xc = x + (n * p.c + k / m) * p.h * p.w;
                const T* g = dy + (n * p.k + k) * p.p * p.q;
                for_each_tap_row(p, [&](int64_t tap, int64_t pp, int64_t base, int64_t qlo, int64_t qhi) {
                    const int64_t len = qhi - qlo + 1;
                    const Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> gv(g + pp * p.q + qlo, len);
                    const Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>, 0, Eigen::InnerStride<>> xv(
                        xc + base + qlo * p.stride_w, len, Eigen::InnerStride<>(p.stride_w));
                    acc[size_t(tap)] += double(gv.dot(xv));
                });
            }
            for (int64_t t = 0; t < p.r * p.s; ++t) dw[k * p.r * p.s + t] = T(acc[size_t(t)]);
            if (db) {
                double sum = 0;
                for (int64_t n = 0; n < p.n; ++n) {
                    const T* g = dy + (n * p.k + k) * p.p * p.q;
                    for (int64_t i = 0; i < p.p * p.q; ++i) sum += double(g[i]);
                }
                db[k] = T(sum);
            }
        }
    });
}

#define SEGCORE_INSTANTIATE(T)                                                                                \
    template void depthwise_conv2d_forward_cpu<T>(const Conv2dParams&, const T*, const T*, const T*, T*);     \
    template void depthwise_conv2d_backward_input_cpu<T>(const Conv2dParams&, const T*, const T*, T*);        \
    template void depthwise_conv2d_backward_weight_cpu<T>(const Conv2dParams&, const T*, const T*, T*, T*);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(double)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
