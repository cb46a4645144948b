// CPU reference for avg_pool2d / adaptive_avg_pool2d (kernels/pool/avg_pool2d.h). f32 and f64
// (sums in the element type, as PyTorch's CPU kernel); ops:: runs f16/bf16 through f32. Parallel
// over (n, c) planes; the backward passes are scatters in output order within a plane, so each
// input gradient is summed in (p, q) order — the order the CUDA gathers use.
#include <algorithm>

#include "core/parallel.h"
#include "kernels/pool/avg_pool2d.h"

namespace segcore::kernels {

namespace {

int64_t plane_grain(int64_t work_per_plane) {
    return std::max<int64_t>(1, 16384 / std::max<int64_t>(work_per_plane, 1));
}

}  // namespace

template <typename T>
void avg_pool2d_forward_cpu(const Pool2dParams& p, const T* x, T* y) {
    parallel_for(0, p.planes(), plane_grain(p.out_plane() * p.kh * p.kw), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            const T* xp = x + pl * p.in_plane();
            T* yp = y + pl * p.out_plane();
            for (int64_t oy = 0; oy < p.oh; ++oy)
                for (int64_t ox = 0; ox < p.ow; ++ox) {
                    const AvgWindow win = avg_window(p, oy, ox);
                    T sum = T(0);
                    for (int64_t h = win.h0; h < win.h1; ++h)
                        for (int64_t w = win.w0; w < win.w1; ++w) sum += xp[h * p.w + w];
                    yp[oy * p.ow + ox] = sum / T(win.divisor);
                }
        }
    });
}

template <typename T>
void avg_pool2d_backward_cpu(const Pool2dParams& p, const T* dy, T* dx) {
    parallel_for(0, p.planes(), plane_grain(p.out_plane() * p.kh * p.kw), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            T* dxp = dx + pl * p.in_plane();
            std::fill(dxp, dxp + p.in_plane(), T(0));
            const T* dyp = dy + pl * p.out_plane();
            for (int64_t oy = 0; oy < p.oh; ++oy)
                for (int64_t ox = 0; ox < p.ow; ++ox) {
                    const AvgWindow win = avg_window(p, oy, ox);
                    const T g = dyp[oy * p.ow + ox] / T(win.divisor);
                    for (int64_t h = win.h0; h < win.h1; ++h)
                        for (int64_t w = win.w0; w < win.w1; ++w) dxp[h * p.w + w] += g;
                }
        }
    });
}

template <typename T>
void adaptive_avg_pool2d_forward_cpu(const Pool2dParams& p, const T* x, T* y) {
    parallel_for(0, p.planes(), plane_grain(p.in_plane()), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            const T* xp = x + pl * p.in_plane();
            T* yp = y + pl * p.out_plane();
            for (int64_t oy = 0; oy < p.oh; ++oy) {
                const int64_t h0 = adaptive_start(oy, p.h, p.oh), h1 = adaptive_end(oy, p.h, p.oh);
                for (int64_t ox = 0; ox < p.ow; ++ox) {
                    const int64_t w0 = adaptive_start(ox, p.w, p.ow), w1 = adaptive_end(ox, p.w, p.ow);
                    T sum = T(0);
                    for (int64_t h = h0; h < h1; ++h)
                        for (int64_t w = w0; w < w1; ++w) sum += xp[h * p.w + w];
                    yp[oy * p.ow + ox] = sum / T((h1 - h0) * (w1 - w0));
                }
            }
        }
    });
}

template <typename T>
void adaptive_avg_pool2d_backward_cpu(const Pool2dParams& p, const T* dy, T* dx) {
    parallel_for(0, p.planes(), plane_grain(p.in_plane()), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            T* dxp = dx + pl * p.in_plane();
            std::fill(dxp, dxp + p.in_plane(), T(0));
            const T* dyp = dy + pl * p.out_plane();
            for (int64_t oy = 0; oy < p.oh; ++oy) {
                const int64_t h0 = adaptive_start(oy, p.h, p.oh), h1 = adaptive_end(oy, p.h, p.oh);
                for (int64_t ox = 0; ox < p.ow; ++ox) {
                    const int64_t w0 = adaptive_start(ox, p.w, p.ow), w1 = adaptive_end(ox, p.w, p.ow);
                    const T g = dyp[oy * p.ow + ox] / T((h1 - h0) * (w1 - w0));
                    for (int64_t h = h0; h < h1; ++h)
                        for (int64_t w = w0; w < w1; ++w) dxp[h * p.w + w] += g;
                }
            }
        }
    });
}

#define SEGCORE_INSTANTIATE(T)                                                           \
    template void avg_pool2d_forward_cpu<T>(const Pool2dParams&, const T*, T*);          \
    template void avg_pool2d_backward_cpu<T>(const Pool2dParams&, const T*, T*);         \
    template void adaptive_avg_pool2d_forward_cpu<T>(const Pool2dParams&, const T*, T*); \
    template void adaptive_avg_pool2d_backward_cpu<T>(const Pool2dParams&, const T*, T*);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(double)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
