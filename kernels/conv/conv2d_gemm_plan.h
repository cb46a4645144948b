#pragma once
// The im2col + GEMM formulation of conv2d's three passes (kernels/conv/conv2d.h), written once and
// shared by the CPU reference (conv2d_cpu.cpp) and the CUDA path (conv2d_cuda.cu): which GEMMs run,
// on which buffers, band by band. A backend supplies the primitives:
//   gemm(GemmParams, a, b, c)                      its GEMM (kernels/linalg/gemm.h)
//   im2col(x_group, p0, p1, col)                   the column matrix of output rows [p0, p1)
//   col2im(col, p0, p1, dx_group, first_band)      dx_group (+)= the adjoint; overwrite when first_band
// Per image and group (in that order, so sums over images are fixed-order and deterministic):
//   forward          y_g[:, band]  = w_g (K/g x CRS) @ col (CRS x band)
//   input gradient   col = w_g^T @ dy_g[:, band];  dx_g (+)= col2im(col)
//   weight gradient  dw_g (+)= dy_g[:, band] @ col^T   (beta = 0 for the first band of the batch)
// A pointwise convolution (1x1, stride 1, unpadded) skips im2col: x_g already is its column matrix.
#include <algorithm>
#include <cstdint>

#include "kernels/conv/conv2d.h"
#include "kernels/linalg/gemm.h"

namespace segcore::kernels::conv_plan {

// Output rows per band so that the column matrix holds at most `max_bytes`.
inline int64_t band_rows(const Conv2dParams& p, size_t elem, int64_t max_bytes) {
    const int64_t row_bytes = p.col_rows() * p.q * int64_t(elem);
    return std::clamp<int64_t>(max_bytes / std::max<int64_t>(row_bytes, 1), 1, std::max<int64_t>(p.p, 1));
}

template <typename T, typename Im2col, typename Gemm>
void forward(const Conv2dParams& p, int64_t band, const T* x, const T* w, T* y, T* col, Im2col&& im2col, Gemm&& gemm) {
    const int64_t kg = p.k_per_group(), cg = p.c_per_group(), pq = p.p * p.q;
    for (int64_t n = 0; n < p.n; ++n)
        for (int64_t g = 0; g < p.groups; ++g) {
            const T* xg = x + (n * p.c + g * cg) * p.h * p.w;
            const T* wg = w + g * kg * p.col_rows();
            T* yg = y + (n * p.k + g * kg) * pq;
            GemmParams gp;
            gp.m = kg;
            gp.k = p.col_rows();
            gp.lda = p.col_rows();
            gp.ldc = pq;
            if (p.is_pointwise()) {
                gp.n = pq;
                gp.ldb = p.h * p.w;
                gemm(gp, wg, xg, yg);
                continue;
            }
            for (int64_t p0 = 0; p0 < p.p; p0 += band) {
                const int64_t p1 = std::min(p.p, p0 + band);
                im2col(xg, p0, p1, col);
                gp.n = (p1 - p0) * p.q;
                gp.ldb = gp.n;
                gemm(gp, wg, col, yg + p0 * p.q);
            }
        }
}

template <typename T, typename Col2im, typename Gemm>
void backward_input(const Conv2dParams& p, int64_t band, const T* dy, const T* w, T* dx, T* col, Col2im&& col2im,
                    Gemm&& gemm) {
    const int64_t kg = p.k_per_group(), cg = p.c_per_group(), pq = p.p * p.q;
    for (int64_t n = 0; n < p.n; ++n)
        for (int64_t g = 0; g < p.groups; ++g) {
            T* dxg = dx + (n * p.c + g * cg) * p.h * p.w;
            const T* wg = w + g * kg * p.col_rows();
            const T* dyg = dy + (n * p.k + g * kg) * pq;
            GemmParams gp;  // (col_rows x kg) = w_g^T, times dy_g's columns
            gp.m = p.col_rows();
            gp.k = kg;
            gp.trans_a = true;
            gp.lda = p.col_rows();
            gp.ldb = pq;
            if (p.is_pointwise()) {
                gp.n = pq;
                gp.ldc = pq;
                gemm(gp, wg, dyg, dxg);
                continue;
            }
            for (int64_t p0 = 0; p0 < p.p; p0 += band) {
                const int64_t p1 = std::min(p.p, p0 + band);
                gp.n = (p1 - p0) * p.q;
                gp.ldc = gp.n;
                gemm(gp, wg, dyg + p0 * p.q, col);
                col2im(col, p0, p1, dxg, p0 == 0);
            }
        }
}

// Returns false when no GEMM ran (an empty batch): dw must then be zero-filled by the caller.
template <typename T, typename Im2col, typename Gemm>
bool backward_weight(const Conv2dParams& p, int64_t band, const T* x, const T* dy, T* dw, T* col, Im2col&& im2col,
                     Gemm&& gemm) {
    const int64_t kg = p.k_per_group(), cg = p.c_per_group(), pq = p.p * p.q;
    bool any = false;
    for (int64_t g = 0; g < p.groups; ++g) {
        T* dwg = dw + g * kg * p.col_rows();
        bool first = true;
        for (int64_t n = 0; n < p.n; ++n) {
            const T* xg = x + (n * p.c + g * cg) * p.h * p.w;
            const T* dyg = dy + (n * p.k + g * kg) * pq;
            GemmParams gp;  // (kg x col_rows) = dy_g's columns times col^T
            gp.m = kg;
            gp.n = p.col_rows();
            gp.trans_b = true;
            gp.lda = pq;
            gp.ldc = p.col_rows();
            if (p.is_pointwise()) {
                gp.k = pq;
                gp.ldb = p.h * p.w;
                gp.beta = first ? 0.0 : 1.0;
                gemm(gp, dyg, xg, dwg);
                first = false;
                continue;
            }
            for (int64_t p0 = 0; p0 < p.p; p0 += band) {
                const int64_t p1 = std::min(p.p, p0 + band);
                im2col(xg, p0, p1, col);
                gp.k = (p1 - p0) * p.q;
                gp.ldb = gp.k;
                gp.beta = first ? 0.0 : 1.0;
                gemm(gp, dyg + p0 * p.q, col, dwg);
                first = false;
            }
        }
        any = any || !first;
    }
    return any;
}

}  // namespace segcore::kernels::conv_plan
