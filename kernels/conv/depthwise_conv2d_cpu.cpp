// CPU reference for depthwise conv2d (kernels/conv/depthwise_conv2d.h): direct loops, parallel
// over planes (forward, input gradient) or filters (weight gradient).
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "kernels/conv/conv_window.h"
#include "kernels/conv/depthwise_conv2d.h"

namespace segcore::kernels {

namespace {
// Calls row(tap, pp, base, qlo, qhi) for every output row pp and every filter tap (tap = r * S + s)
// that reaches it, with the columns [qlo, qhi] the tap reaches: output (pp, qq) reads input offset
// base + qq * stride_w of the plane. Offsets stay integers: a padded row's start lies before the
// plane. Row-outer order keeps one output row and R input rows in L1 while all taps visit them
// (tap-outer sweeps the whole plane R*S times). All three passes are this loop nest with a
// different row operation.
template <typename Row>
void for_each_row_tap(const Conv2dParams& p, Row&& row) {
    int64_t qlo[64], qhi[64];  // per filter column; wider filters take the slow path below
    const bool cached = p.s <= 64;
    for (int64_t s = 0; cached && s < p.s; ++s) valid_range(p.w, p.q, p.stride_w, p.pad_w, s * p.dil_w, qlo[s], qhi[s]);
    for (int64_t pp = 0; pp < p.p; ++pp) {
        for (int64_t r = 0; r < p.r; ++r) {
            const int64_t ih = pp * p.stride_h - p.pad_h + r * p.dil_h;
            if (ih < 0 || ih >= p.h) continue;
            for (int64_t s = 0; s < p.s; ++s) {
                int64_t lo, hi;
                if (cached) lo = qlo[s], hi = qhi[s];
                else valid_range(p.w, p.q, p.stride_w, p.pad_w, s * p.dil_w, lo, hi);
                if (lo <= hi) row(r * p.s + s, pp, ih * p.w - p.pad_w + s * p.dil_w, lo, hi);
            }
        }
    }
}

// y[q] += a * x[q * stride] for q in [lo, hi]; the unit-stride case gets its own loop so the
// compiler vectorises it without a runtime stride check.
template <typename T>
inline void strided_axpy(T a, const T* x, int64_t stride, T* y, int64_t lo, int64_t hi) {
    if (stride == 1)
        for (int64_t q = lo; q <= hi; ++q) y[q] += a * x[q];
    else
        for (int64_t q = lo; q <= hi; ++q) y[q] += a * x[q * stride];
}

// The forward of the commonest case, a 3-wide filter at column stride 1 (any dilation): per input
// row, the columns all three taps reach take the three products in one pass, so each output is
// loaded and stored once per row instead of once per tap; the few edge columns go tap by tap.
// Returns false (nothing done) when the shape is not that case.
template <typename T>
bool forward_plane_3wide(const Conv2dParams& p, const T* xc, const T* wk, T* yk) {
    if (p.s != 3 || p.stride_w != 1) return false;
    int64_t lo[3], hi[3];
    for (int64_t s = 0; s < 3; ++s) valid_range(p.w, p.q, 1, p.pad_w, s * p.dil_w, lo[s], hi[s]);
    const int64_t qa = std::max({lo[0], lo[1], lo[2]}), qb = std::min({hi[0], hi[1], hi[2]});
    if (qa > qb) return false;  // narrower than the filter: no column sees all three taps
    const int64_t d = p.dil_w;
    for (int64_t pp = 0; pp < p.p; ++pp) {
        T* yr = yk + pp * p.q;
        for (int64_t r = 0; r < p.r; ++r) {
            const int64_t ih = pp * p.stride_h - p.pad_h + r * p.dil_h;
            if (ih < 0 || ih >= p.h) continue;
            const T* xr = xc + ih * p.w - p.pad_w;  // xr[q + s * d] is tap s of output column q
            const T w0 = wk[r * 3], w1 = wk[r * 3 + 1], w2 = wk[r * 3 + 2];
            for (int64_t s = 0; s < 3; ++s) {
                const T ws = wk[r * 3 + s];
                for (int64_t q = lo[s]; q < qa; ++q) yr[q] += ws * xr[q + s * d];
                for (int64_t q = qb + 1; q <= hi[s]; ++q) yr[q] += ws * xr[q + s * d];
            }
            for (int64_t q = qa; q <= qb; ++q) yr[q] += w0 * xr[q] + w1 * xr[q + d] + w2 * xr[q + 2 * d];
        }
    }
    return true;
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
            // Otherwise, for a fixed tap the inner loop is a strided axpy over an output row.
            if (!forward_plane_3wide(p, xc, wk, yk))
                for_each_row_tap(p, [&](int64_t tap, int64_t pp, int64_t base, int64_t qlo, int64_t qhi) {
                    strided_axpy(wk[tap], xc + base, p.stride_w, yk + pp * p.q, qlo, qhi);
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
                for_each_row_tap(p, [&](int64_t tap, int64_t pp, int64_t base, int64_t qlo, int64_t qhi) {
                    const T wv = wk[tap];
                    const T* g = dyk + pp * p.q;
                    if (p.stride_w == 1)
                        for (int64_t qq = qlo; qq <= qhi; ++qq) dxc[base + qq] += wv * g[qq];
                    else
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
            // Per tap, one lane per output column accumulates over the rows of a plane in T (a
            // vectorised multiply-add, no horizontal sums in the inner loop); each plane's lanes are
            // then summed into one double per tap in a fixed order — fast and deterministic.
            std::vector<double> acc(static_cast<size_t>(p.r * p.s), 0.0);  // one sum per tap, any filter size
            std::vector<T> lanes(static_cast<size_t>(p.r * p.s * p.q));
            for (int64_t n = 0; n < p.n; ++n) {
                const T* xc = x + (n * p.c + k / m) * p.h * p.w;
                const T* g = dy + (n * p.k + k) * p.p * p.q;
                std::fill(lanes.begin(), lanes.end(), T(0));
                for_each_row_tap(p, [&](int64_t tap, int64_t pp, int64_t base, int64_t qlo, int64_t qhi) {
                    T* lane = lanes.data() + tap * p.q;
                    const T* gr = g + pp * p.q;
                    if (p.stride_w == 1)
                        for (int64_t qq = qlo; qq <= qhi; ++qq) lane[qq] += gr[qq] * xc[base + qq];
                    else
                        for (int64_t qq = qlo; qq <= qhi; ++qq) lane[qq] += gr[qq] * xc[base + qq * p.stride_w];
                });
                for (int64_t t = 0; t < p.r * p.s; ++t) {
                    const T* lane = lanes.data() + t * p.q;
                    double sum = 0;
                    for (int64_t qq = 0; qq < p.q; ++qq) sum += double(lane[qq]);
                    acc[size_t(t)] += sum;
                }
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
