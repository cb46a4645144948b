// CUDA reductions (kernels/reduce/reduce.h). CPU reference: kernels/reduce/reduce_cpu.cpp.
//
// Two paths, both cut the reduced index into fixed chunks and never use float atomics:
//   row path    (reduced elements adjacent in memory, e.g. sum over H,W or over everything): a
//               group of G threads (a warp, or a 256-thread block for long rows) per (output,
//               chunk); thread t takes elements t, t+G, ... with 16-byte loads when aligned; a
//               warp-shuffle tree (then shared memory across warps) combines the G threads.
//   column path (kept dims innermost in memory, e.g. a (N, C) bias gradient): one thread per
//               output walks its chunk of reduced indices; neighbouring threads read neighbouring
//               addresses, so loads coalesce.
// With one chunk per output the group writes y directly; otherwise it writes its chunk's partial
// state and a second kernel (a warp per output) combines the chunks in a fixed tree. Every choice
// (path, G, chunk size) depends only on the shape, strides and alignment of x, so results are
// bitwise reproducible.
#include <climits>
#include <cmath>
#include <cstdint>

#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/reduce/reduce.h"

namespace segcore::kernels {

namespace {

using cuda::dacc_t;
using cuda::device_t;

constexpr int64_t kColumnChunk = 512;  // reduced elements per thread in the column path

// ---- reducers: Acc state, identity, per-element update, ordered combine, output ----

template <typename T, bool IsMean>
struct SumR {
    using A = dacc_t<T>;
    using Acc = A;
    using Out = T;
    __device__ static Acc identity() { return A(0); }
    __device__ static void update(Acc& a, A v, int64_t) { a += v; }
    __device__ static Acc combine(Acc a, Acc b) { return a + b; }
    __device__ static Acc shfl_down(Acc a, int d) { return __shfl_down_sync(0xffffffffu, a, d); }
    __device__ static void store(const Acc& a, int64_t len, int64_t o, Out* y, Out*) {
        y[o] = cuda::convert<T>(IsMean ? a / A(len) : a);  // mean of nothing: 0/0 = NaN
    }
};

template <typename T, bool IsMax>
struct MinMaxR {
    using A = dacc_t<T>;
    using Acc = A;
    using Out = T;
    __device__ static Acc identity() { return IsMax ? -INFINITY : INFINITY; }
    __device__ static Acc combine(Acc a, Acc v) {  // NaN wins, as in PyTorch
        if (v != v) return v;
        return IsMax ? (v > a ? v : a) : (v < a ? v : a);
    }
    __device__ static void update(Acc& a, A v, int64_t) { a = combine(a, v); }
    __device__ static Acc shfl_down(Acc a, int d) { return __shfl_down_sync(0xffffffffu, a, d); }
    __device__ static void store(const Acc& a, int64_t, int64_t o, Out* y, Out*) { y[o] = cuda::convert<T>(a); }
};

template <typename T>
struct ArgmaxR {
    using A = dacc_t<T>;
    struct Acc {
        A v;
        int64_t i;  // -1: no element yet
    };
    using Out = int64_t;
    __device__ static Acc identity() { return {A(0), -1}; }
    // Order-free: the smaller index wins ties and among NaNs, so any combine tree gives PyTorch's answer.
    __device__ static Acc combine(Acc a, Acc b) {
        if (a.i < 0) return b;
        if (b.i < 0) return a;
        const bool an = a.v != a.v, bn = b.v != b.v;
        bool b_wins;
        if (an || bn) b_wins = an == bn ? b.i < a.i : bn;
        else b_wins = b.v > a.v || (b.v == a.v && b.i < a.i);
        return b_wins ? b : a;
    }
    __device__ static void update(Acc& a, A v, int64_t r) { a = combine(a, Acc{v, r}); }
    __device__ static Acc shfl_down(Acc a, int d) {
        return {__shfl_down_sync(0xffffffffu, a.v, d), __shfl_down_sync(0xffffffffu, a.i, d)};
    }
    __device__ static void store(const Acc& a, int64_t, int64_t o, Out* y, Out*) { y[o] = a.i; }
};

// Welford per element inside a thread, Chan's merge between threads and chunks.
template <typename T>
struct WelfordR {
    struct Acc {
        float n, mean, m2;  // n as float: exact up to 2^24 per thread; merge ratios need it as float anyway
    };
    using A = float;
    using Out = T;
    __device__ static Acc identity() { return {0.f, 0.f, 0.f}; }
    __device__ static void update(Acc& a, A v, int64_t) {
        a.n += 1.f;
        const float d = v - a.mean;
        a.mean += d / a.n;
        a.m2 += d * (v - a.mean);
    }
    __device__ static Acc combine(Acc a, Acc b) {
        if (a.n == 0.f) return b;
        if (b.n == 0.f) return a;
        const float n = a.n + b.n, d = b.mean - a.mean, f = b.n / n;
        return {n, a.mean + d * f, a.m2 + b.m2 + d * d * a.n * f};
    }
    __device__ static Acc shfl_down(Acc a, int d) {
        return {__shfl_down_sync(0xffffffffu, a.n, d), __shfl_down_sync(0xffffffffu, a.mean, d),
                __shfl_down_sync(0xffffffffu, a.m2, d)};
    }
};

// var/std writer (needs the correction and sqrt flag, so it is not a static member of WelfordR).
template <typename T>
struct VarStore {
    float correction;
    bool take_sqrt;
    __device__ void operator()(const typename WelfordR<T>::Acc& a, int64_t len, int64_t o, T* var, T* mean) const {
        // the per-thread count is inexact beyond 2^24: use the exact length for the divisor
        const float n = float(len);
        float v = len == 0 ? NAN : a.m2 / fmaxf(n - correction, 0.f);
        if (take_sqrt) v = sqrtf(v);
        var[o] = cuda::convert<T>(v);
        if (mean) mean[o] = cuda::convert<T>(len == 0 ? NAN : a.mean);
    }
};

// Adapts a reducer's static store to the functor interface used by the kernels.
template <typename R>
struct StaticStore {
    __device__ void operator()(const typename R::Acc& a, int64_t len, int64_t o, typename R::Out* y,
                               typename R::Out* y2) const {
        R::store(a, len, o, y, y2);
    }
};

template <typename R>
__device__ __forceinline__ typename R::Acc warp_reduce(typename R::Acc a) {
#pragma unroll
    for (int d = 16; d > 0; d /= 2) a = R::combine(a, R::shfl_down(a, d));
    return a;
}

__device__ __forceinline__ int64_t outer_offset(const StridedGeometry<1>& g, int64_t o) {
    int64_t off[1];
    cuda::offsets_of(g, o, off);
    return off[0];
}

// Row path. G = 32 (a warp per item, 8 items per block) or 256 (a block per item).
template <typename R, typename T, int G, typename Store>
__global__ void reduce_row_kernel(ReduceParams p, int64_t nchunks, int64_t chunk, const T* __restrict__ x,
                                  typename R::Acc* __restrict__ partial, typename R::Out* __restrict__ y,
                                  typename R::Out* __restrict__ y2, Store store) {
    using Acc = typename R::Acc;
    using A = typename R::A;
    constexpr int kItemsPerBlock = G == 32 ? cuda::kBlock / 32 : 1;
    const int lane_in_group = G == 32 ? int(threadIdx.x & 31) : int(threadIdx.x);
    const int64_t item = int64_t(blockIdx.x) * kItemsPerBlock + (G == 32 ? threadIdx.x / 32 : 0);
    const bool active = item < p.num_outputs * nchunks;  // whole warps are inactive together
    if (G == 32 && !active) return;
    const int64_t o = active ? item / nchunks : 0, k = active ? item % nchunks : 0;
    const int64_t b = k * chunk, e = min(p.reduce_len, b + chunk);
    const T* base = x + outer_offset(p.outer, o);
    const StridedGeometry<1>& g = p.inner;

    Acc acc = R::identity();
    if (g.ndim <= 1) {
        const int64_t st = g.ndim ? g.strides[0][0] : 0;
        constexpr int kVec = 16 / sizeof(T);
        const T* ptr = base + b * st;
        int64_t i = lane_in_group;
        if (st == 1 && (reinterpret_cast<uintptr_t>(ptr) % 16) == 0) {
            // 16-byte loads: the row is read at full bandwidth; elements stay in index order per thread
            const int64_t nvec = (e - b) / kVec;
            for (int64_t v = lane_in_group; v < nvec; v += G) {
                alignas(16) T buf[kVec];
                *reinterpret_cast<uint4*>(buf) = __ldg(reinterpret_cast<const uint4*>(ptr) + v);
#pragma unroll
                for (int j = 0; j < kVec; ++j) R::update(acc, A(buf[j]), b + v * kVec + j);
            }
            i = nvec * kVec + lane_in_group;
        }
        for (; i < e - b; i += G) R::update(acc, A(ptr[i * st]), b + i);
    } else {
        // Walk (row, col) over the last dim incrementally: one offsets_of per row change, not per element.
        const int last = g.ndim - 1;
        const int64_t row_len = g.sizes[last], st = g.strides[0][last];
        StridedGeometry<1> rows = g;  // the dims above the last one
        rows.ndim = last;
        int64_t i = b + lane_in_group;
        int64_t row = i / row_len, col = i - row * row_len;
        int64_t row_off = outer_offset(rows, row);
        for (; i < e; i += G) {
            R::update(acc, A(base[row_off + col * st]), i);
            col += G;
            if (col >= row_len) {
                row += col / row_len;
                col %= row_len;
                row_off = outer_offset(rows, row);
            }
        }
    }

    acc = warp_reduce<R>(acc);
    if constexpr (G > 32) {
        __shared__ alignas(16) unsigned char smem_raw[(G / 32) * sizeof(Acc)];  // Acc may hold int64
        Acc* smem = reinterpret_cast<Acc*>(smem_raw);
        const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
        if (lane == 0) smem[warp] = acc;
        __syncthreads();
        if (warp != 0) return;
        acc = lane < G / 32 ? smem[lane] : R::identity();
        acc = warp_reduce<R>(acc);
    }
    if (lane_in_group != 0 || !active) return;
    if (nchunks == 1) store(acc, p.reduce_len, o, y, y2);
    else partial[item] = acc;
}

// Column path: thread per output, kept dims innermost (outer stride 1 at the last dim).
template <typename R, typename T, typename Store>
__global__ void reduce_column_kernel(ReduceParams p, int64_t nchunks, const T* __restrict__ x,
                                     typename R::Acc* __restrict__ partial, typename R::Out* __restrict__ y,
                                     typename R::Out* __restrict__ y2, Store store) {
    using A = typename R::A;
    const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (o >= p.num_outputs) return;
    const int64_t k = blockIdx.y;
    const int64_t b = k * kColumnChunk, e = min(p.reduce_len, b + kColumnChunk);
    const T* base = x + outer_offset(p.outer, o);
    const StridedGeometry<1>& g = p.inner;
    // odometer over the reduced dims: no division per element
    int64_t idx[kMaxDims];
    int64_t rem = b, off = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
        idx[d] = rem % g.sizes[d];
        rem /= g.sizes[d];
        off += idx[d] * g.strides[0][d];
    }
    typename R::Acc acc = R::identity();
    for (int64_t r = b; r < e; ++r) {
        R::update(acc, A(base[off]), r);
        for (int d = g.ndim - 1; d >= 0; --d) {
            off += g.strides[0][d];
            if (++idx[d] < g.sizes[d]) break;
            off -= idx[d] * g.strides[0][d];
            idx[d] = 0;
        }
    }
    if (nchunks == 1) store(acc, p.reduce_len, o, y, y2);
    else partial[k * p.num_outputs + o] = acc;
}

// Second pass: a warp per output; lane l combines chunks l, l+32, ... in order, then a fixed tree.
template <typename R, typename Store>
__global__ void reduce_finish_kernel(int64_t num_outputs, int64_t nchunks, int64_t len, bool column,
                                     const typename R::Acc* __restrict__ partial, typename R::Out* __restrict__ y,
                                     typename R::Out* __restrict__ y2, Store store) {
    const int64_t o = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    if (o >= num_outputs) return;
    const int lane = threadIdx.x & 31;
    typename R::Acc acc = R::identity();
    for (int64_t k = lane; k < nchunks; k += 32)
        acc = R::combine(acc, partial[column ? k * num_outputs + o : o * nchunks + k]);
    acc = warp_reduce<R>(acc);
    if (lane == 0) store(acc, len, o, y, y2);
}

template <typename R, typename T, typename Store>
void launch_reduce(const ReduceParams& p_in, const T* x, typename R::Out* y, typename R::Out* y2, Store store,
                   Stream s) {
    using Acc = typename R::Acc;
    if (p_in.num_outputs == 0) return;
    ReduceParams p = p_in;
    // An empty reduction (sum over a size-0 dim) still launches to store the identity; its inner
    // geometry may hold a size-0 dim that the kernels would divide by. Nothing is read: drop it.
    if (p.reduce_len == 0) p.inner.ndim = 0;
    const cudaStream_t st = to_cuda(s.handle);
    const auto& g = p.inner;
    // grid.y holds the chunks: beyond 65535 of them the row path (correct for any layout) takes over
    const bool column = p.outer.ndim > 0 && p.outer.strides[0][p.outer.ndim - 1] == 1 && p.num_outputs >= 32 &&
                        (g.ndim == 0 || g.strides[0][g.ndim - 1] != 1) &&
                        (p.reduce_len + kColumnChunk - 1) / kColumnChunk <= 65535;
    const int64_t chunk = column ? kColumnChunk : kReduceChunk;
    const int64_t nchunks = std::max<int64_t>(1, (p.reduce_len + chunk - 1) / chunk);
    Tensor scratch;
    Acc* partial = nullptr;
    if (nchunks > 1) {
        // Stream-ordered caching allocator: freeing right after the launches is safe only if the
        // block belongs to the pool of the stream the kernels run on, so allocate with s current;
        // and on the device the kernels run on (s.device is 0 for the default Stream{}).
        StreamGuard on_s(s);
        scratch = empty({int64_t(p.num_outputs * nchunks * int64_t(sizeof(Acc)))},
                        {DType::U8, Device::cuda(current_device())});
        partial = static_cast<Acc*>(scratch.data_ptr());
    }
    const auto grid_x = [](int64_t blocks) {
        SEGCORE_CHECK(blocks <= INT32_MAX, "reduce (CUDA): ", blocks, " blocks exceed the grid limit of 2^31 - 1");
        return unsigned(blocks);
    };
    if (column) {
        const dim3 grid(unsigned((p.num_outputs + cuda::kBlock - 1) / cuda::kBlock), unsigned(nchunks));
        reduce_column_kernel<R, T, Store><<<grid, cuda::kBlock, 0, st>>>(p, nchunks, x, partial, y, y2, store);
    } else if (std::min(p.reduce_len, chunk) >= 4096) {
        const int64_t blocks = p.num_outputs * nchunks;
        reduce_row_kernel<R, T, 256, Store>
            <<<grid_x(blocks), 256, 0, st>>>(p, nchunks, chunk, x, partial, y, y2, store);
    } else {
        const int64_t blocks = (p.num_outputs * nchunks + 7) / 8;
        reduce_row_kernel<R, T, 32, Store>
            <<<grid_x(blocks), cuda::kBlock, 0, st>>>(p, nchunks, chunk, x, partial, y, y2, store);
    }
    SEGCORE_CUDA_LAUNCH_CHECK();
    if (nchunks > 1) {
        const unsigned blocks = grid_x((p.num_outputs + 7) / 8);
        reduce_finish_kernel<R, Store><<<blocks, cuda::kBlock, 0, st>>>(p.num_outputs, nchunks, p.reduce_len, column,
                                                                       partial, y, y2, store);
        SEGCORE_CUDA_LAUNCH_CHECK();
    }
}

}  // namespace

template <typename T>
void reduce_cuda(const ReduceParams& p, ReduceOp op, const T* x, T* y, Stream s) {
    using D = device_t<T>;
    const D* dx = cuda::dev_ptr(x);
    D* dy = cuda::dev_ptr(y);
    switch (op) {
        case ReduceOp::Sum: launch_reduce<SumR<D, false>>(p, dx, dy, dy, StaticStore<SumR<D, false>>{}, s); break;
        case ReduceOp::Mean: launch_reduce<SumR<D, true>>(p, dx, dy, dy, StaticStore<SumR<D, true>>{}, s); break;
        case ReduceOp::Max: launch_reduce<MinMaxR<D, true>>(p, dx, dy, dy, StaticStore<MinMaxR<D, true>>{}, s); break;
        case ReduceOp::Min: launch_reduce<MinMaxR<D, false>>(p, dx, dy, dy, StaticStore<MinMaxR<D, false>>{}, s); break;
    }
}

template <typename T>
void argmax_cuda(const ReduceParams& p, const T* x, int64_t* y, Stream s) {
    using D = device_t<T>;
    launch_reduce<ArgmaxR<D>>(p, cuda::dev_ptr(x), y, y, StaticStore<ArgmaxR<D>>{}, s);
}

template <typename T>
void var_mean_cuda(const ReduceParams& p, const VarParams& v, const T* x, T* var, T* mean, Stream s) {
    using D = device_t<T>;
    const VarStore<D> store{float(v.correction), v.take_sqrt};
    launch_reduce<WelfordR<D>>(p, cuda::dev_ptr(x), cuda::dev_ptr(var), mean ? cuda::dev_ptr(mean) : nullptr, store, s);
}

#define SEGCORE_REDUCE_CUDA(T)                                                                              \
    template void reduce_cuda<T>(const ReduceParams&, ReduceOp, const T*, T*, Stream);                     \
    template void argmax_cuda<T>(const ReduceParams&, const T*, int64_t*, Stream);                         \
    template void var_mean_cuda<T>(const ReduceParams&, const VarParams&, const T*, T*, T*, Stream);
SEGCORE_REDUCE_CUDA(float)
SEGCORE_REDUCE_CUDA(Half)
SEGCORE_REDUCE_CUDA(BFloat16)
#undef SEGCORE_REDUCE_CUDA

}  // namespace segcore::kernels
