// CPU reductions (kernels/reduce/reduce.h): the oracle, and fast enough to be memory-bound on a
// contiguous sum.
//
// Work is cut into (output, chunk) items, a chunk being kReduceChunk consecutive reduced indices.
// parallel_for only decides which thread computes which item; every item is reduced in a fixed
// order and chunk results are combined in chunk order, so the bits never depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "kernels/reduce/reduce.h"

namespace segcore::kernels {

namespace {

constexpr int64_t kBlock = 4096;  // elements per lane block (fits L1, bounds each lane's add chain)
constexpr int kLanes = 16;        // independent accumulators: vectorisable, and 16x shorter add chains

// Element offset in x of output o's first reduced element.
inline int64_t outer_offset(const StridedGeometry<1>& g, int64_t o) {
    int64_t off = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
        off += (o % g.sizes[d]) * g.strides[0][d];
        o /= g.sizes[d];
    }
    return off;
}

// Calls row(ptr, n, stride, r) for each run of reduced positions in [b, e); r is ptr[0]'s reduced index.
template <typename T, typename Row>
inline void for_rows(const T* base, const StridedGeometry<1>& inner, int64_t b, int64_t e, Row&& row) {
    if (b >= e) return;
    if (inner.ndim <= 1) {  // the common case, without for_each_row's index bookkeeping
        const int64_t st = inner.ndim ? inner.strides[0][0] : 0;
        row(base + b * st, e - b, st, b);
        return;
    }
    int64_t r = b;
    for_each_row(inner, b, e, [&](const int64_t* off, int64_t n, const int64_t* st) {
        row(base + off[0], n, st[0], r);
        r += n;
    });
}

// sum over [b, e) of f(x) with kLanes lanes of type L per kBlock block, blocks summed in double.
template <typename L, typename T, typename F>
double lane_sum(const T* base, const StridedGeometry<1>& inner, int64_t b, int64_t e, F&& f) {
    using A = acc_t<T>;
    double total = 0;
    for (int64_t bb = b; bb < e; bb += kBlock) {
        L lane[kLanes] = {};
        for_rows(base, inner, bb, std::min(e, bb + kBlock), [&](const T* x, int64_t n, int64_t st, int64_t) {
            int64_t i = 0;
            if (st == 1) {
                for (; i + kLanes <= n; i += kLanes)
                    for (int j = 0; j < kLanes; ++j) lane[j] += f(A(x[i + j]));
                for (int j = 0; i < n; ++i, ++j) lane[j] += f(A(x[i]));
            } else {
                for (; i < n; ++i) lane[i % kLanes] += f(A(x[i * st]));
            }
        });
        for (int w = kLanes / 2; w >= 1; w /= 2)  // fixed tree over the lanes
            for (int j = 0; j < w; ++j) lane[j] += lane[j + w];
        total += double(lane[0]);
    }
    return total;
}

// a is the running max/min, v the candidate; NaN wins (PyTorch), ties keep a.
template <bool IsMax, typename A>
inline A pick(A a, A v) {
    if constexpr (std::is_floating_point_v<A>)
        if (v != v) return v;
    return IsMax ? (v > a ? v : a) : (v < a ? v : a);
}

template <typename A>
constexpr A lowest() {
    return std::numeric_limits<A>::has_infinity ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::lowest();
}
template <typename A>
constexpr A highest() {
    return std::numeric_limits<A>::has_infinity ? std::numeric_limits<A>::infinity() : std::numeric_limits<A>::max();
}

template <bool IsMax, typename T>
acc_t<T> minmax_chunk(const T* base, const StridedGeometry<1>& inner, int64_t b, int64_t e) {
    using A = acc_t<T>;
    A lane[kLanes];
    for (auto& l : lane) l = IsMax ? lowest<A>() : highest<A>();
    for_rows(base, inner, b, e, [&](const T* x, int64_t n, int64_t st, int64_t) {
        int64_t i = 0;
        if (st == 1)
            for (; i + kLanes <= n; i += kLanes)
                for (int j = 0; j < kLanes; ++j) lane[j] = pick<IsMax>(lane[j], A(x[i + j]));
        for (; i < n; ++i) lane[0] = pick<IsMax>(lane[0], A(x[i * st]));
    });
    A m = lane[0];
    for (int j = 1; j < kLanes; ++j) m = pick<IsMax>(m, lane[j]);
    return m;
}

template <typename A>
struct ArgBest {
    A v{};
    int64_t i = -1;  // -1: no element yet
};

// The earlier index wins ties (and among NaNs), whatever order a and b come in.
template <typename A>
inline ArgBest<A> argmax_combine(ArgBest<A> a, ArgBest<A> b) {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    bool b_wins;
    if constexpr (std::is_floating_point_v<A>) {
        const bool an = a.v != a.v, bn = b.v != b.v;
        if (an || bn) b_wins = an == bn ? b.i < a.i : bn;
        else b_wins = b.v > a.v || (b.v == a.v && b.i < a.i);
    } else {
        b_wins = b.v > a.v || (b.v == a.v && b.i < a.i);
    }
    return b_wins ? b : a;
}

// Welford/Chan state in double: count, mean, sum of squared deviations.
struct Welford {
    double n = 0, mean = 0, m2 = 0;
};
inline Welford welford_merge(const Welford& a, const Welford& b) {
    if (a.n == 0) return b;
    if (b.n == 0) return a;
    Welford r;
    r.n = a.n + b.n;
    const double d = b.mean - a.mean;
    r.mean = a.mean + d * (b.n / r.n);
    r.m2 = a.m2 + b.m2 + d * d * (a.n * b.n / r.n);
    return r;
}

// Each kBlock block two-pass (its mean, then squared deviations from it: no cancellation), blocks
// merged with Chan's formula. Accumulated in double: var is the BatchNorm oracle.
template <typename T>
Welford welford_chunk(const T* base, const StridedGeometry<1>& inner, int64_t b, int64_t e) {
    using A = acc_t<T>;
    Welford w;
    for (int64_t bb = b; bb < e; bb += kBlock) {
        const int64_t be = std::min(e, bb + kBlock);
        Welford blk;
        blk.n = double(be - bb);
        blk.mean = lane_sum<double>(base, inner, bb, be, [](A v) { return double(v); }) / blk.n;
        const double m = blk.mean;
        blk.m2 = lane_sum<double>(base, inner, bb, be, [m](A v) {
            const double d = double(v) - m;
            return d * d;
        });
        w = welford_merge(w, blk);
    }
    return w;
}

// The driver: chunk(x_offset, b, e) -> Acc for each (output, chunk) item, combine(a, b) in chunk
// order, finalize(o, acc) writes output o.
template <typename Acc, typename Chunk, typename Combine, typename Finalize>
void run_chunks(const ReduceParams& p, Chunk&& chunk, Combine&& combine, Finalize&& finalize) {
    const int64_t len = p.reduce_len;
    const int64_t nchunks = std::max<int64_t>(1, (len + kReduceChunk - 1) / kReduceChunk);
    const int64_t per_item = std::max<int64_t>(1, std::min(len, kReduceChunk));
    const int64_t grain = std::max<int64_t>(1, kDefaultGrain / per_item);
    if (nchunks == 1) {
        parallel_for(0, p.num_outputs, grain, [&](int64_t b, int64_t e) {
            for (int64_t o = b; o < e; ++o) finalize(o, chunk(outer_offset(p.outer, o), int64_t(0), len));
        });
        return;
    }
    std::vector<Acc> partial(size_t(p.num_outputs * nchunks));
    parallel_for(0, p.num_outputs * nchunks, grain, [&](int64_t b, int64_t e) {
        for (int64_t w = b; w < e; ++w) {
            const int64_t o = w / nchunks, k = w % nchunks;
            partial[size_t(w)] = chunk(outer_offset(p.outer, o), k * kReduceChunk, std::min(len, (k + 1) * kReduceChunk));
        }
    });
    for (int64_t o = 0; o < p.num_outputs; ++o) {  // cheap: num_outputs <= numel / kReduceChunk
        Acc a = partial[size_t(o * nchunks)];
        for (int64_t k = 1; k < nchunks; ++k) a = combine(a, partial[size_t(o * nchunks + k)]);
        finalize(o, a);
    }
}

}  // namespace

template <typename T>
void reduce_cpu(const ReduceParams& p, ReduceOp op, const T* x, T* y) {
    using A = acc_t<T>;
    const int64_t len = p.reduce_len;
    if (op == ReduceOp::Sum || op == ReduceOp::Mean) {
        const bool is_mean = op == ReduceOp::Mean;
        run_chunks<double>(
            p, [&](int64_t off, int64_t b, int64_t e) { return lane_sum<A>(x + off, p.inner, b, e, [](A v) { return v; }); },
            [](double a, double b) { return a + b; },
            [&](int64_t o, double s) {
                // mean of nothing is 0/0 = NaN, as in PyTorch
                y[o] = T(acc_t<T>(is_mean ? s / double(len) : s));
            });
    } else if (op == ReduceOp::Max) {
        run_chunks<A>(
            p, [&](int64_t off, int64_t b, int64_t e) { return minmax_chunk<true>(x + off, p.inner, b, e); },
            [](A a, A b) { return pick<true>(a, b); }, [&](int64_t o, A m) { y[o] = T(m); });
    } else {
        run_chunks<A>(
            p, [&](int64_t off, int64_t b, int64_t e) { return minmax_chunk<false>(x + off, p.inner, b, e); },
            [](A a, A b) { return pick<false>(a, b); }, [&](int64_t o, A m) { y[o] = T(m); });
    }
}

template <typename T>
void argmax_cpu(const ReduceParams& p, const T* x, int64_t* y) {
    using A = acc_t<T>;
    using B = ArgBest<A>;
    run_chunks<B>(
        p,
        [&](int64_t off, int64_t b, int64_t e) {
            B best;
            for_rows(x + off, p.inner, b, e, [&](const T* v, int64_t n, int64_t st, int64_t r) {
                for (int64_t i = 0; i < n; ++i) best = argmax_combine(best, B{A(v[i * st]), r + i});
            });
            return best;
        },
        [](B a, B b) { return argmax_combine(a, b); }, [&](int64_t o, B b) { y[o] = b.i; });
}

template <typename T>
void var_mean_cpu(const ReduceParams& p, const VarParams& v, const T* x, T* var, T* mean) {
    run_chunks<Welford>(
        p, [&](int64_t off, int64_t b, int64_t e) { return welford_chunk(x + off, p.inner, b, e); },
        [](const Welford& a, const Welford& b) { return welford_merge(a, b); },
        [&](int64_t o, const Welford& w) {
            const double nan = std::numeric_limits<double>::quiet_NaN();
            // max(n - correction, 0) as in PyTorch: 0/0 = NaN, m2/0 = inf
            double r = w.n == 0 ? nan : w.m2 / std::max(w.n - double(v.correction), 0.0);
            if (v.take_sqrt) r = std::sqrt(r);
            var[o] = T(acc_t<T>(r));
            if (mean) mean[o] = T(acc_t<T>(w.n == 0 ? nan : w.mean));
        });
}

#define SEGCORE_REDUCE_CPU(T)                                                      \
    template void reduce_cpu<T>(const ReduceParams&, ReduceOp, const T*, T*);      \
    template void argmax_cpu<T>(const ReduceParams&, const T*, int64_t*);
SEGCORE_REDUCE_CPU(float)
SEGCORE_REDUCE_CPU(double)
SEGCORE_REDUCE_CPU(Half)
SEGCORE_REDUCE_CPU(BFloat16)
SEGCORE_REDUCE_CPU(int32_t)
SEGCORE_REDUCE_CPU(int64_t)
SEGCORE_REDUCE_CPU(uint8_t)
#undef SEGCORE_REDUCE_CPU

template void var_mean_cpu<float>(const ReduceParams&, const VarParams&, const float*, float*, float*);
template void var_mean_cpu<double>(const ReduceParams&, const VarParams&, const double*, double*, double*);
template void var_mean_cpu<Half>(const ReduceParams&, const VarParams&, const Half*, Half*, Half*);
template void var_mean_cpu<BFloat16>(const ReduceParams&, const VarParams&, const BFloat16*, BFloat16*, BFloat16*);

}  // namespace segcore::kernels
