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
    parallel_for(0, p.planes(), plane_grain(p.out_plane() * p.kh * p.kw), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            const T* xp = x + pl * p.in_plane();
            T* yp = y + pl * p.out_plane();
            int64_t* ip = idx + pl * p.out_plane();
            for (int64_t oy = 0; oy < p.oh; ++oy)
                for (int64_t ox = 0; ox < p.ow; ++ox) {
                    // First tap inside the input (PyTorch starts the index there: an all -inf
                    // window reports it).
                    int64_t h0 = oy * p.stride_h - p.pad_h, w0 = ox * p.stride_w - p.pad_w;
                    while (h0 < 0) h0 += p.dil_h;
                    while (w0 < 0) w0 += p.dil_w;
                    const int64_t h1 = std::min(oy * p.stride_h - p.pad_h + (p.kh - 1) * p.dil_h + 1, p.h);
                    const int64_t w1 = std::min(ox * p.stride_w - p.pad_w + (p.kw - 1) * p.dil_w + 1, p.w);
                    T best = -std::numeric_limits<T>::infinity();
                    int64_t best_i = h0 * p.w + w0;
                    for (int64_t hh = h0; hh < h1; hh += p.dil_h)
                        for (int64_t ww = w0; ww < w1; ww += p.dil_w) {
                            const T v = xp[hh * p.w + ww];
                            if (v > best || std::isnan(v)) {  // strict: ties keep the first; NaN wins
                                best = v;
                                best_i = hh * p.w + ww;
                            }
                        }
                    yp[oy * p.ow + ox] = best;
                    ip[oy * p.ow + ox] = best_i;
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
