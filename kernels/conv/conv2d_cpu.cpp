// CPU reference for conv2d (kernels/conv/conv2d.h): im2col / col2im around the GEMM of
// kernels/linalg/gemm.h. f32 and f64; ops::conv2d runs f16/bf16 through f32.
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "kernels/conv/conv2d.h"
#include "kernels/conv/conv2d_gemm_plan.h"
#include "kernels/conv/conv_window.h"
#include "kernels/linalg/gemm.h"

namespace segcore::kernels {

namespace {

// Column buffers are built for a band of output rows at a time, at most this many bytes.
constexpr int64_t kColBytes = int64_t(8) << 20;

// col[(c*R + r)*S + s][(pp - p0)*Q + qq] = x[c][h][w] for output rows [p0, p1); x is one image's
// channels of one group (C/g planes of H x W).
template <typename T>
void im2col(const Conv2dParams& p, const T* x, int64_t p0, int64_t p1, T* col) {
    const int64_t cols = (p1 - p0) * p.q;
    parallel_for(0, p.col_rows(), std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
            const int64_t s = row % p.s, r = (row / p.s) % p.r, c = row / (p.s * p.r);
            const T* xc = x + c * p.h * p.w;
            T* out = col + row * cols;
            int64_t qlo, qhi;  // the columns whose tap lands inside the row; the rest are padding
            valid_range(p.w, p.q, p.stride_w, p.pad_w, s * p.dil_w, qlo, qhi);
            for (int64_t pp = p0; pp < p1; ++pp) {
                const int64_t h = pp * p.stride_h - p.pad_h + r * p.dil_h;
                T* o = out + (pp - p0) * p.q;
                if (h < 0 || h >= p.h) {
                    std::fill(o, o + p.q, T(0));
                    continue;
                }
                const T* xr = xc + h * p.w - p.pad_w + s * p.dil_w;  // xr[qq * stride_w] is the tap
                std::fill(o, o + qlo, T(0));
                if (p.stride_w == 1) std::copy(xr + qlo, xr + qhi + 1, o + qlo);
                else
                    for (int64_t qq = qlo; qq <= qhi; ++qq) o[qq] = xr[qq * p.stride_w];
                std::fill(o + qhi + 1, o + p.q, T(0));
            }
        }
    });
}

// The adjoint of im2col: dx[c][h][w] += col[...] for every column entry that read x[c][h][w].
// Parallel over channels (each writes its own plane), fixed order inside: deterministic.
template <typename T>
void col2im_add(const Conv2dParams& p, const T* col, int64_t p0, int64_t p1, T* dx) {
    const int64_t cols = (p1 - p0) * p.q;
    parallel_for(0, p.c_per_group(), 1, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c) {
            T* dxc = dx + c * p.h * p.w;
            for (int64_t r = 0; r < p.r; ++r)
                for (int64_t s = 0; s < p.s; ++s) {
                    const T* in = col + ((c * p.r + r) * p.s + s) * cols;
                    int64_t qlo, qhi;
                    valid_range(p.w, p.q, p.stride_w, p.pad_w, s * p.dil_w, qlo, qhi);
                    for (int64_t pp = p0; pp < p1; ++pp) {
                        const int64_t h = pp * p.stride_h - p.pad_h + r * p.dil_h;
                        if (h < 0 || h >= p.h) continue;
                        const T* i = in + (pp - p0) * p.q;
                        T* dr = dxc + h * p.w - p.pad_w + s * p.dil_w;  // dr[qq * stride_w] is the tap
                        if (p.stride_w == 1)
                            for (int64_t qq = qlo; qq <= qhi; ++qq) dr[qq] += i[qq];
                        else
                            for (int64_t qq = qlo; qq <= qhi; ++qq) dr[qq * p.stride_w] += i[qq];
                    }
                }
        }
    });
}

}  // namespace

template <typename T>
void conv2d_forward_cpu(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y) {
    const int64_t pq = p.p * p.q, band = conv_plan::band_rows(p, sizeof(T), kColBytes);
    std::vector<T> col(p.is_pointwise() ? 0 : size_t(p.col_rows() * band * p.q));
    conv_plan::forward(
        p, band, x, w, y, col.data(), [&](const T* xg, int64_t p0, int64_t p1, T* c) { im2col(p, xg, p0, p1, c); },
        [](const GemmParams& gp, const T* a, const T* b, T* c) { gemm_cpu<T>(gp, a, b, c); });
    if (bias || p.act != Act::None) {  // the epilogue: y = act(y + bias), one pass
        parallel_for(0, p.n * p.k, std::max<int64_t>(1, 32768 / std::max<int64_t>(pq, 1)), [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) {
                const T v = bias ? bias[i % p.k] : T(0);
                T* yi = y + i * pq;
                for (int64_t j = 0; j < pq; ++j) yi[j] = act_forward(p.act, yi[j] + v);
            }
        });
    }
}

template <typename T>
void conv2d_backward_input_cpu(const Conv2dParams& p, const T* dy, const T* w, T* dx) {
    const int64_t band = conv_plan::band_rows(p, sizeof(T), kColBytes);
    std::vector<T> col(p.is_pointwise() ? 0 : size_t(p.col_rows() * band * p.q));
    conv_plan::backward_input(
        p, band, dy, w, dx, col.data(),
        [&](const T* c, int64_t p0, int64_t p1, T* dxg, bool first_band) {
            if (first_band) std::fill(dxg, dxg + p.c_per_group() * p.h * p.w, T(0));
            col2im_add(p, c, p0, p1, dxg);
        },
        [](const GemmParams& gp, const T* a, const T* b, T* c) { gemm_cpu<T>(gp, a, b, c); });
}

template <typename T>
void conv2d_backward_weight_cpu(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db) {
    const int64_t pq = p.p * p.q, band = conv_plan::band_rows(p, sizeof(T), kColBytes);
    std::vector<T> col(p.is_pointwise() ? 0 : size_t(p.col_rows() * band * p.q));
    const bool any = conv_plan::backward_weight(
        p, band, x, dy, dw, col.data(), [&](const T* xg, int64_t p0, int64_t p1, T* c) { im2col(p, xg, p0, p1, c); },
        [](const GemmParams& gp, const T* a, const T* b, T* c) { gemm_cpu<T>(gp, a, b, c); });
    if (!any) std::fill(dw, dw + p.k * p.col_rows(), T(0));  // an empty batch
    if (db) {
        // Per channel, images then pixels in order, accumulated in double: deterministic and
        // accurate for the 4M-pixel sums of a batch of 1024 x 512 images.
        parallel_for(0, p.k, 1, [&](int64_t b, int64_t e) {
            for (int64_t k = b; k < e; ++k) {
                double acc = 0;
                for (int64_t n = 0; n < p.n; ++n) {
                    const T* d = dy + (n * p.k + k) * pq;
                    for (int64_t j = 0; j < pq; ++j) acc += double(d[j]);
                }
                db[k] = T(acc);
            }
        });
    }
}

#define SEGCORE_INSTANTIATE(T)                                                                             \
    template void conv2d_forward_cpu<T>(const Conv2dParams&, const T*, const T*, const T*, T*);            \
    template void conv2d_backward_input_cpu<T>(const Conv2dParams&, const T*, const T*, T*);               \
    template void conv2d_backward_weight_cpu<T>(const Conv2dParams&, const T*, const T*, T*, T*);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(double)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
