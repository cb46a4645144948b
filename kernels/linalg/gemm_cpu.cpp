// CPU GEMM (kernels/linalg/gemm.h) on Eigen's blocked, vectorised kernel (AVX2/FMA with the default
// -march=x86-64-v3). Eigen runs single-threaded here; we split the output across segcore's pool
// ourselves so the thread count follows SEGCORE_NUM_THREADS like every other CPU kernel.
#include <Eigen/Core>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "core/parallel.h"
#include "kernels/linalg/gemm.h"

namespace segcore::kernels {

namespace {

template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMap = Eigen::Map<const RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using MutMap = Eigen::Map<RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// Below this many flops a chunk is not worth waking a thread for.
constexpr int64_t kMinFlopsPerChunk = 1 << 18;

// C[r0:r1, c0:c1] of one batch entry. a, b, c point at that entry's matrices.
template <typename T>
void gemm_block(const GemmParams& p, const T* a, const T* b, T* c, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    const int64_t rows = r1 - r0, cols = c1 - c0;
    if (rows <= 0 || cols <= 0) return;
    MutMap<T> cm(c + r0 * p.ldc + c0, rows, cols, Eigen::OuterStride<>(p.ldc));
    const T alpha = T(p.alpha), beta = T(p.beta);
    // A's rows r0..r1 are stored columns when transposed; B's columns c0..c1 likewise.
    const ConstMap<T> as = p.trans_a ? ConstMap<T>(a + r0, p.k, rows, Eigen::OuterStride<>(p.lda))
                                     : ConstMap<T>(a + r0 * p.lda, rows, p.k, Eigen::OuterStride<>(p.lda));
    const ConstMap<T> bs = p.trans_b ? ConstMap<T>(b + c0 * p.ldb, cols, p.k, Eigen::OuterStride<>(p.ldb))
                                     : ConstMap<T>(b + c0, p.k, cols, Eigen::OuterStride<>(p.ldb));
    // beta == 0 must not read C (it may hold NaN); Eigen's "=" product zeroes before accumulating.
    auto product = [&](const auto& am, const auto& bm) {
        if (beta == T(0)) {
            cm.noalias() = alpha * am * bm;
        } else {
            if (beta != T(1)) cm *= beta;
            cm.noalias() += alpha * am * bm;
        }
    };
    if (p.trans_a && p.trans_b) product(as.transpose(), bs.transpose());
    else if (p.trans_a) product(as.transpose(), bs);
    else if (p.trans_b) product(as, bs.transpose());
    else product(as, bs);
}

template <typename T>
void gemm_cpu_native(const GemmParams& p, const T* a, const T* b, T* c) {
    if (p.m == 0 || p.n == 0 || p.batch == 0) return;
    const int64_t flops_per_row = std::max<int64_t>(1, 2 * p.n * std::max<int64_t>(p.k, 1));
    const int64_t rows = p.batch * p.m;
    // Each thread packs (copies into cache-friendly panels) the whole of the operand it does not
    // split, so split the larger side: rows when M >= N (or there are batches to hand out), else
    // columns. The conv-like 64 x 16384 output runs 2.5x faster split by columns.
    if (p.batch >= 2 * int64_t(num_threads()) || p.m >= p.n) {
        // Split the (batch x rows) of C: each thread runs whole-width GEMMs on its own rows.
        const int64_t grain = std::max<int64_t>(1, kMinFlopsPerChunk / flops_per_row);
        parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end;) {
                const int64_t bi = r / p.m, r0 = r % p.m;
                const int64_t r1 = std::min(p.m, r0 + (end - r));
                gemm_block(p, a + bi * p.stride_a, b + bi * p.stride_b, c + bi * p.stride_c, r0, r1, 0, p.n);
                r += r1 - r0;
            }
        });
    } else {
        // Wide outputs (im2col convolutions, matrix-vector products): split the columns.
        const int64_t grain = std::max<int64_t>(16, kMinFlopsPerChunk / std::max<int64_t>(1, 2 * rows * p.k));
        parallel_for(0, p.n, grain, [&](int64_t c0, int64_t c1) {
            for (int64_t bi = 0; bi < p.batch; ++bi)
                gemm_block(p, a + bi * p.stride_a, b + bi * p.stride_b, c + bi * p.stride_c, 0, p.m, c0, c1);
        });
    }
}

// Copies `batches` stored (rows, cols) matrices with leading dim ld and batch stride `stride` into a
// dense buffer, converting each element.
template <typename D, typename S>
void convert_matrices(const S* src, int64_t batches, int64_t rows, int64_t cols, int64_t ld, int64_t stride, D* dst) {
    parallel_for(0, batches * rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1)), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const S* s = src + (r / rows) * stride + (r % rows) * ld;
            D* d = dst + r * cols;
            for (int64_t j = 0; j < cols; ++j) d[j] = D(float(s[j]));
        }
    });
}

// f16/bf16: there is no fast half GEMM on the CPU, so convert to f32 buffers, run the f32 GEMM
// and round back once (the same as f32 accumulation on the GPU).
template <typename H>
void gemm_cpu_via_f32(const GemmParams& p, const H* a, const H* b, H* c) {
    if (p.m == 0 || p.n == 0 || p.batch == 0) return;
    const int64_t ar = p.trans_a ? p.k : p.m, ac = p.trans_a ? p.m : p.k;
    const int64_t br = p.trans_b ? p.n : p.k, bc = p.trans_b ? p.k : p.n;
    const int64_t ba = p.stride_a == 0 ? 1 : p.batch, bb = p.stride_b == 0 ? 1 : p.batch;
    std::vector<float> af(size_t(ba * ar * ac)), bf(size_t(bb * br * bc)), cf(size_t(p.batch * p.m * p.n));
    convert_matrices(a, ba, ar, ac, p.lda, p.stride_a, af.data());
    convert_matrices(b, bb, br, bc, p.ldb, p.stride_b, bf.data());
    if (p.beta != 0.0) convert_matrices(c, p.batch, p.m, p.n, p.ldc, p.stride_c, cf.data());
    GemmParams q = p;
    q.lda = std::max<int64_t>(ac, 1);
    q.ldb = std::max<int64_t>(bc, 1);
    q.ldc = std::max<int64_t>(p.n, 1);
    q.stride_a = ba == 1 ? 0 : ar * ac;
    q.stride_b = bb == 1 ? 0 : br * bc;
    q.stride_c = p.m * p.n;
    gemm_cpu_native<float>(q, af.data(), bf.data(), cf.data());
    parallel_for(0, p.batch * p.m, std::max<int64_t>(1, 32768 / p.n), [&](int64_t b0, int64_t e) {
        for (int64_t r = b0; r < e; ++r) {
            H* d = c + (r / p.m) * p.stride_c + (r % p.m) * p.ldc;
            const float* s = cf.data() + r * p.n;
            for (int64_t j = 0; j < p.n; ++j) d[j] = H(s[j]);
        }
    });
}

}  // namespace

void gemm_check_params(const GemmParams& p) {
    SEGCORE_CHECK(p.m >= 0 && p.n >= 0 && p.k >= 0 && p.batch >= 0, "gemm: negative size m=", p.m, " n=", p.n,
                  " k=", p.k, " batch=", p.batch);
    const int64_t a_cols = p.trans_a ? p.m : p.k, b_cols = p.trans_b ? p.k : p.n;
    SEGCORE_CHECK(p.lda >= std::max<int64_t>(1, a_cols), "gemm: lda ", p.lda, " is smaller than A's stored row length ",
                  a_cols);
    SEGCORE_CHECK(p.ldb >= std::max<int64_t>(1, b_cols), "gemm: ldb ", p.ldb, " is smaller than B's stored row length ",
                  b_cols);
    SEGCORE_CHECK(p.ldc >= std::max<int64_t>(1, p.n), "gemm: ldc ", p.ldc, " is smaller than C's row length ", p.n);
    SEGCORE_CHECK(p.batch <= 1 || p.stride_c != 0 || p.m == 0 || p.n == 0,
                  "gemm: stride_c is 0 with batch ", p.batch, ": the batch entries would overwrite each other");
}

template <typename T>
void gemm_cpu(const GemmParams& p, const T* a, const T* b, T* c) {
    gemm_check_params(p);
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) gemm_cpu_via_f32(p, a, b, c);
    else gemm_cpu_native(p, a, b, c);
}

template void gemm_cpu<float>(const GemmParams&, const float*, const float*, float*);
template void gemm_cpu<double>(const GemmParams&, const double*, const double*, double*);
template void gemm_cpu<Half>(const GemmParams&, const Half*, const Half*, Half*);
template void gemm_cpu<BFloat16>(const GemmParams&, const BFloat16*, const BFloat16*, BFloat16*);

}  // namespace segcore::kernels
