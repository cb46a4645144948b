// CPU reference for interpolate (kernels/resize/interpolate.h): f32 and f64, coordinates in the
// element type as PyTorch's CPU kernel; ops:: runs f16/bf16 through f32. Parallel over (n, c)
// planes. The backward pass is the plain scatter (each output pixel hands its weights to its
// taps), sequential within a plane: deterministic, and an independent check of the CUDA gather.
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "kernels/resize/interpolate.h"

namespace segcore::kernels {

namespace {

int64_t plane_grain(int64_t work) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(work, 1)); }

// Per-axis taps, computed once per call.
template <typename A>
std::vector<LinearTap<A>> axis_taps(const InterpParams& p, bool rows) {
    const int64_t in = rows ? p.ih : p.iw, out = rows ? p.oh : p.ow;
    const double scale = rows ? p.scale_h : p.scale_w;
    std::vector<LinearTap<A>> t(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
        if (p.mode == InterpMode::Bilinear) {
            t[size_t(o)] = linear_tap<A>(o, in, out, p.align_corners, scale);
        } else {
            const int64_t s = nearest_src(o, in, out, scale, p.mode == InterpMode::NearestExact);
            t[size_t(o)] = {s, s, A(1), A(0)};
        }
    }
    return t;
}

}  // namespace

template <typename T>
void interpolate_forward_cpu(const InterpParams& p, const T* x, T* y) {
    const auto th = axis_taps<T>(p, true), tw = axis_taps<T>(p, false);
    const bool nearest = p.mode != InterpMode::Bilinear;
    parallel_for(0, p.planes(), plane_grain(p.oh * p.ow * 4), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            const T* xp = x + pl * p.ih * p.iw;
            T* yp = y + pl * p.oh * p.ow;
            for (int64_t oy = 0; oy < p.oh; ++oy) {
                const LinearTap<T>& h = th[size_t(oy)];
                const T* r0 = xp + h.i0 * p.iw;
                const T* r1 = xp + h.i1 * p.iw;
                T* yr = yp + oy * p.ow;
                for (int64_t ox = 0; ox < p.ow; ++ox) {
                    const LinearTap<T>& w = tw[size_t(ox)];
                    if (nearest) {
                        yr[ox] = r0[w.i0];
                    } else {
                        yr[ox] =
                            h.l0 * (w.l0 * r0[w.i0] + w.l1 * r0[w.i1]) + h.l1 * (w.l0 * r1[w.i0] + w.l1 * r1[w.i1]);
                    }
                }
            }
        }
    });
}

template <typename T>
void interpolate_backward_cpu(const InterpParams& p, const T* dy, T* dx) {
    const auto th = axis_taps<T>(p, true), tw = axis_taps<T>(p, false);
    const bool nearest = p.mode != InterpMode::Bilinear;
    parallel_for(0, p.planes(), plane_grain(p.oh * p.ow * 4), [&](int64_t b, int64_t e) {
        for (int64_t pl = b; pl < e; ++pl) {
            T* dxp = dx + pl * p.ih * p.iw;
            std::fill(dxp, dxp + p.ih * p.iw, T(0));
            const T* dyp = dy + pl * p.oh * p.ow;
            for (int64_t oy = 0; oy < p.oh; ++oy) {
                const LinearTap<T>& h = th[size_t(oy)];
                T* r0 = dxp + h.i0 * p.iw;
                T* r1 = dxp + h.i1 * p.iw;
                for (int64_t ox = 0; ox < p.ow; ++ox) {
                    const LinearTap<T>& w = tw[size_t(ox)];
                    const T g = dyp[oy * p.ow + ox];
                    if (nearest) {
                        r0[w.i0] += g;
                    } else {
                        r0[w.i0] += h.l0 * w.l0 * g;
                        r0[w.i1] += h.l0 * w.l1 * g;
                        r1[w.i0] += h.l1 * w.l0 * g;
                        r1[w.i1] += h.l1 * w.l1 * g;
                    }
                }
            }
        }
    });
}

template void interpolate_forward_cpu<float>(const InterpParams&, const float*, float*);
template void interpolate_forward_cpu<double>(const InterpParams&, const double*, double*);
template void interpolate_backward_cpu<float>(const InterpParams&, const float*, float*);
template void interpolate_backward_cpu<double>(const InterpParams&, const double*, double*);

}  // namespace segcore::kernels
