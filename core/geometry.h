#pragma once
// StridedGeometry: the iteration space shared by N operands of an elementwise loop (copy, cast,
// fill, unary, binary, where). Built once per op call by make_geometry, which drops size-1 dims and
// merges adjacent dims that are contiguous in every operand — a contiguous tensor of any rank
// becomes a single dim, so kernels hit their fast path. Broadcast operands carry stride 0.
//
// The logical (row-major) element order is preserved: linear index i of the geometry is element i
// of the original shape, which random fills rely on.
#include <algorithm>
#include <array>
#include <cstdint>

#include "core/error.h"
#include "core/shape.h"

namespace segcore {

template <int N>
struct StridedGeometry {
    int ndim = 0;                         // 0 means a single element
    int64_t sizes[kMaxDims] = {};         // outermost first
    int64_t strides[N][kMaxDims] = {};    // per operand, in elements
    int64_t numel = 1;

    bool contiguous() const {  // every operand dense and in row-major order (after coalescing)
        if (ndim == 0) return true;
        if (ndim > 1) return false;
        for (int k = 0; k < N; ++k)
            if (strides[k][0] != 1) return false;
        return true;
    }
};

template <int N>
StridedGeometry<N> make_geometry(const Shape& shape, const std::array<const Strides*, N>& strides) {
    SEGCORE_CHECK(int(shape.size()) <= kMaxDims, "tensors have at most ", kMaxDims, " dimensions, got ",
                  shape.size());
    StridedGeometry<N> g;
    g.numel = shape_numel(shape);
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;
        const int i = g.ndim;
        // Merge into the previous (outer) dim when every operand steps through both as one.
        bool merge = i > 0;
        for (int k = 0; k < N && merge; ++k) merge = g.strides[k][i - 1] == (*strides[k])[d] * shape[d];
        if (merge) {
            g.sizes[i - 1] *= shape[d];
            for (int k = 0; k < N; ++k) g.strides[k][i - 1] = (*strides[k])[d];
        } else {
            g.sizes[i] = shape[d];
            for (int k = 0; k < N; ++k) g.strides[k][i] = (*strides[k])[d];
            g.ndim++;
        }
    }
    return g;
}

// CPU iteration over linear indices [begin, end): calls row(offsets, n, inner_strides) for each
// run along the innermost dim, where offsets[k] is operand k's element offset at the start of
// the run. Kernels write a plain inner loop and specialise inner_strides == 1.
template <int N, typename Row>
void for_each_row(const StridedGeometry<N>& g, int64_t begin, int64_t end, Row&& row) {
    if (begin >= end) return;
    if (g.ndim == 0) {
        int64_t off[N] = {};
        int64_t st[N] = {};
        row(off, int64_t(1), st);
        return;
    }
    const int last = g.ndim - 1;
    int64_t idx[kMaxDims];
    int64_t rem = begin;
    for (int d = last; d >= 0; --d) {
        idx[d] = rem % g.sizes[d];
        rem /= g.sizes[d];
    }
    int64_t inner[N];
    for (int k = 0; k < N; ++k) inner[k] = g.strides[k][last];
    int64_t pos = begin;
    while (pos < end) {
        int64_t off[N];
        for (int k = 0; k < N; ++k) {
            off[k] = 0;
            for (int d = 0; d <= last; ++d) off[k] += idx[d] * g.strides[k][d];
        }
        const int64_t n = std::min<int64_t>(g.sizes[last] - idx[last], end - pos);
        row(off, n, inner);
        pos += n;
        idx[last] += n;
        for (int d = last; d > 0 && idx[d] == g.sizes[d]; --d) {  // odometer carry
            idx[d] = 0;
            idx[d - 1]++;
        }
    }
}

}  // namespace segcore
