// ops::matmul / ops::matmul_out (kernels/linalg/matmul.h): validation, layout analysis and backend
// dispatch for the GEMM kernels in kernels/linalg/gemm.h.
#include "kernels/linalg/matmul.h"

#include <algorithm>
#include <optional>

#include "kernels/common/dispatch.h"
#include "kernels/linalg/gemm.h"

namespace segcore::ops {

namespace {

constexpr const char* kOp = "matmul";

// How a stored (rows, cols) matrix reaches the GEMM.
struct MatrixLayout {
    bool trans = false;
    int64_t ld = 1;
};

// Row-major with unit column stride -> no transpose, ld = row stride; column-major (a transposed
// view) -> transpose, ld = column stride. Strides of size-1 dims never matter. Anything else
// (column steps, overlapping rows from expand) has no BLAS description.
std::optional<MatrixLayout> blas_layout(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
    const int64_t r1 = std::max<int64_t>(rows, 1), c1 = std::max<int64_t>(cols, 1);
    if (rows == 0 || cols == 0) return MatrixLayout{false, c1};  // nothing is read
    if ((cols <= 1 || col_stride == 1) && (rows <= 1 || row_stride >= c1))
        return MatrixLayout{false, rows <= 1 ? c1 : row_stride};
    if ((rows <= 1 || row_stride == 1) && (cols <= 1 || col_stride >= r1))
        return MatrixLayout{true, cols <= 1 ? r1 : col_stride};
    return std::nullopt;
}

// A 3-D operand (batch, rows, cols) as GEMM input: the tensor to read (maybe a contiguous copy),
// its layout and its batch stride (0 when its batch of 1 broadcasts).
struct Operand {
    Tensor t;
    MatrixLayout layout;
    int64_t batch_stride = 0;
};

Operand gemm_operand(const Tensor& x3) {
    Operand op;
    op.t = x3;
    auto layout = blas_layout(x3.size(1), x3.size(2), x3.stride(1), x3.stride(2));
    if (!layout) {
        op.t = x3.contiguous();
        layout = blas_layout(op.t.size(1), op.t.size(2), op.t.stride(1), op.t.stride(2));
        SEGCORE_ASSERT(layout.has_value());
    }
    op.layout = *layout;
    op.batch_stride = op.t.size(0) == 1 ? 0 : op.t.stride(0);
    return op;
}

Tensor as_3d(const Tensor& x) { return x.dim() == 2 ? x.unsqueeze(0) : x; }

void check_backend(MatmulBackend backend, const Tensor& a) {
    SEGCORE_CHECK(backend == MatmulBackend::Default || a.is_cuda(), kOp, ": MatmulBackend::", matmul_backend_name(backend),
                  " runs on CUDA tensors, got tensors on ", a.device().str(), " (use MatmulBackend::Default)");
}

void run_gemm(const kernels::GemmParams& p, const Tensor& a, const Tensor& b, const Tensor& c, MatmulBackend backend) {
    if (a.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(a.dtype(), kOp, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if (backend == MatmulBackend::Tiled)
                kernels::gemm_tiled_cuda<T>(p, a.data<T>(), b.data<T>(), c.data<T>(), current_stream());
            else
                kernels::gemm_cuda<T>(p, a.data<T>(), b.data<T>(), c.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(a.dtype(), kOp, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::gemm_cpu<T>(p, a.data<T>(), b.data<T>(), c.data<T>());
        });
    }
}

}  // namespace

const char* matmul_backend_name(MatmulBackend b) {
    switch (b) {
        case MatmulBackend::Default: return "Default";
        case MatmulBackend::Cublas: return "Cublas";
        case MatmulBackend::Tiled: return "Tiled";
    }
    return "?";
}

Shape matmul_shape(const Tensor& a, const Tensor& b) {
    check_defined(kOp, {&a, &b});
    const bool ranks_ok = (a.dim() == 2 || a.dim() == 3) && (b.dim() == 2 || b.dim() == 3);
    SEGCORE_CHECK(ranks_ok, kOp, ": expected 2-D (M, K) or 3-D (B, M, K) operands, got a ", shape_str(a.shape()),
                  " and b ", shape_str(b.shape()));
    const int64_t m = a.size(-2), k = a.size(-1), kb = b.size(-2), n = b.size(-1);
    SEGCORE_CHECK(k == kb, kOp, ": inner dimensions differ: a ", shape_str(a.shape()), " has ", k, " columns but b ",
                  shape_str(b.shape()), " has ", kb, " rows");
    if (a.dim() == 2 && b.dim() == 2) return {m, n};
    const int64_t ba = a.dim() == 3 ? a.size(0) : 1, bb = b.dim() == 3 ? b.size(0) : 1;
    SEGCORE_CHECK(ba == bb || ba == 1 || bb == 1, kOp, ": batch sizes differ: a ", shape_str(a.shape()), " and b ",
                  shape_str(b.shape()), " (a batch of 1 broadcasts, others must match)");
    return {ba == 1 ? bb : ba, m, n};  // a batch of 1 broadcasts, even against 0
}

Tensor matmul(const Tensor& a, const Tensor& b, MatmulBackend backend) {
    const Shape shape = matmul_shape(a, b);
    check_same_device(kOp, {&a, &b});
    Tensor out = empty(shape, TensorOptions(a.dtype(), a.device()));
    return matmul_out(out, a, b, MatmulOptions{1.0, 0.0, backend});
}

Tensor& matmul_out(Tensor& out, const Tensor& a, const Tensor& b, const MatmulOptions& opt) {
    const Shape shape = matmul_shape(a, b);
    check_defined(kOp, {&out});
    check_same_device(kOp, {&a, &b, &out});
    check_same_dtype(kOp, {&a, &b, &out});
    check_floating(kOp, a, "a");
    check_backend(opt.backend, a);
    SEGCORE_CHECK(out.shape() == shape, kOp, ": out has shape ", shape_str(out.shape()), ", expected ", shape_str(shape),
                  " for a ", shape_str(a.shape()), " @ b ", shape_str(b.shape()));
    SEGCORE_CHECK(!out.shares_storage(a) && !out.shares_storage(b), kOp, ": out must not share memory with a or b");

    const Tensor a3 = as_3d(a), b3 = as_3d(b);
    const Operand oa = gemm_operand(a3), ob = gemm_operand(b3);
    kernels::GemmParams p;
    p.batch = shape.size() == 3 ? shape[0] : 1;
    p.m = a3.size(1);
    p.k = a3.size(2);
    p.n = b3.size(2);
    p.trans_a = oa.layout.trans;
    p.lda = oa.layout.ld;
    p.stride_a = oa.batch_stride;
    p.trans_b = ob.layout.trans;
    p.ldb = ob.layout.ld;
    p.stride_b = ob.batch_stride;
    p.alpha = opt.alpha;
    p.beta = opt.beta;

    // C needs unit column stride and a distinct matrix per batch entry; otherwise compute into a
    // contiguous buffer (holding out's values when beta reads them) and copy back.
    const Tensor o3 = as_3d(out);
    const auto out_layout = blas_layout(o3.size(1), o3.size(2), o3.stride(1), o3.stride(2));
    const bool out_ok = out_layout && !out_layout->trans && (p.batch <= 1 || o3.stride(0) != 0);
    const Tensor c3 = out_ok ? o3 : (opt.beta != 0.0 ? o3.clone() : empty(o3.shape(), TensorOptions(out.dtype(), out.device())));
    p.ldc = out_ok ? out_layout->ld : std::max<int64_t>(p.n, 1);
    p.stride_c = p.batch <= 1 ? 0 : c3.stride(0);

    // (B, M, K) @ (K, N) with packed batches is one (B*M, K) @ (K, N) GEMM: larger tiles, one call.
    if (p.batch > 1 && p.stride_b == 0 && !p.trans_a && p.stride_a == p.m * p.lda && p.stride_c == p.m * p.ldc) {
        p.m *= p.batch;
        p.batch = 1;
        p.stride_a = p.stride_c = 0;
    }

    if (shape_numel(shape) > 0) run_gemm(p, oa.t, ob.t, c3, opt.backend);
    if (!out_ok) out.copy_(out.dim() == 2 ? c3.squeeze(0) : c3);
    return out;
}

}  // namespace segcore::ops
