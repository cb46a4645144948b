// CPU reference for max_pool2d / max_unpool2d (kernels/pool/max_pool2d.h). f32 and f64; ops::
// runs f16/bf16 through f32 (a selection: exact). Parallel over (n, c) planes: each plane is
// written by one thread in a fixed order, so every result is deterministic.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/pool/max_pool2d.h"

namespace segcore::kernels {

namespace {

int64_t plane_grain(int64_t work_per_plane) {
    return std::max<int64_t>(1, 16384 / std::max<int64_t>(work_per_plane, 1));
}

}  // namespace

template <typename T>
void max_pool2d_forward_cpu(const Pool2dParams& p, const T* x, T* y, int64_t* idx) {
    // Sizes as locals: the int64 index stores below could alias the fields of `p`, which would
    // force the compiler to reload every size after every store (3x slower).
    const int64_t H = p.h, W = p.w, OH = p.oh, OW = p.ow, KH = p.kh, KW = p.kw;
    const int64_t SH = p.stride_h, SW = p.stride_w, PH = p.pad_h, PW = p.pad_w, DH = p.dil_h, DW = p.dil_w;
    const int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
    parallel_for(0, p.planes(), plane_grain(out_plane * KH * KW), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            const T* xp = x + pl * in_plane;
            T* yp = y + pl * out_plane;
            int64_t* ip = idx + pl * out_plane;
            for (int64_t oy = 0; oy < OH; ++oy) {
                // First tap row inside the input (PyTorch starts the index there: an all -inf
                // window reports it), and the end of the window's rows.
                int64_t h0 = oy * SH - PH;
                while (h0 < 0) h0 += DH;
                const int64_t h1 = std::min(oy * SH - PH + (KH - 1) * DH + 1, H);
                for (int64_t ox = 0; ox < OW; ++ox) {
                    int64_t w0 = ox * SW - PW;
                    while (w0 < 0) w0 += DW;
                    const int64_t w1 = std::min(ox * SW - PW + (KW - 1) * DW + 1, W);
                    T best = -std::numeric_limits<T>::infinity();
                    int64_t best_i = h0 * W + w0;
                    for (int64_t hh = h0; hh < h1; hh += DH) {
                        const T* row = xp + hh * W;
                        for (int64_t ww = w0; ww < w1; ww += DW) {
                            const T v = row[ww];
                            // strict: ties keep the first; NaN wins (a later NaN replaces it, as
                            // in PyTorch). Branch-free: the comparison is unpredictable.
                            const bool take = (v > best) | (v != v);
                            best = take ? v : best;
                            best_i = take ? hh * W + ww : best_i;
                        }
                    }
                    yp[oy * OW + ox] = best;
                    ip[oy * OW + ox] = best_i;
                }
            }
        }
    });
}

template <typename T>
void max_pool2d_backward_cpu(const Pool2dParams& p, const T* dy, const int64_t* idx, T* dx) {
    parallel_for(0, p.planes(), plane_grain(p.in_plane() + p.out_plane()), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            T* dxp = dx + pl * p.in_plane();
            std::fill(dxp, dxp + p.in_plane(), T(0));
            const T* dyp = dy + pl * p.out_plane();
            const int64_t* ip = idx + pl * p.out_plane();
            for (int64_t o = 0; o < p.out_plane(); ++o) dxp[ip[o]] += dyp[o];  // output order
        }
    });
}

template <typename T>
void max_unpool2d_forward_cpu(const Pool2dParams& p, const T* x, const int64_t* idx, T* y) {
    const int64_t out_plane = p.oh * p.ow, in_plane = p.h * p.w;
    parallel_for(0, p.planes(), plane_grain(in_plane + out_plane), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            T* yp = y + pl * out_plane;
            std::fill(yp, yp + out_plane, T(0));
            const T* xp = x + pl * in_plane;
            const int64_t* ip = idx + pl * in_plane;
            for (int64_t i = 0; i < in_plane; ++i) {  // scan order: a later duplicate wins
                const int64_t j = ip[i];
                SEGCORE_CHECK(j >= 0 && j < out_plane, "max_unpool2d: index ", j, " at plane ", pl, " position ", i,
                              " is outside the output plane of ", p.oh, " x ", p.ow, " = ", out_plane, " elements");
                yp[j] = xp[i];
            }
        }
    });
}

template <typename T>
void max_unpool2d_backward_cpu(const Pool2dParams& p, const T* dy, const int64_t* idx, T* dx) {
    const int64_t out_plane = p.oh * p.ow, in_plane = p.h * p.w;
    parallel_for(0, p.planes(), plane_grain(in_plane), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            const T* dyp = dy + pl * out_plane;
            const int64_t* ip = idx + pl * in_plane;
            T* dxp = dx + pl * in_plane;
            for (int64_t i = 0; i < in_plane; ++i) {
                const int64_t j = ip[i];
                SEGCORE_CHECK(j >= 0 && j < out_plane, "max_unpool2d_backward: index ", j, " at plane ", pl,
                              " position ", i, " is outside the output plane of ", out_plane, " elements");
                dxp[i] = dyp[j];
            }
        }
    });
}

#define SEGCORE_INSTANTIATE(T)                                                                    \
    template void max_pool2d_forward_cpu<T>(const Pool2dParams&, const T*, T*, int64_t*);         \
    template void max_pool2d_backward_cpu<T>(const Pool2dParams&, const T*, const int64_t*, T*);  \
    template void max_unpool2d_forward_cpu<T>(const Pool2dParams&, const T*, const int64_t*, T*); \
    template void max_unpool2d_backward_cpu<T>(const Pool2dParams&, const T*, const int64_t*, T*);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(double)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
