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

// The operands as matrices: a 1-D a (K,) is the row (1, K), a 1-D b (K,) the column (K, 1)
// (PyTorch's prepended / appended 1, removed again from the result).
Tensor as_matrix_a(const Tensor& a) { return a.dim() == 1 ? a.unsqueeze(0) : a; }
Tensor as_matrix_b(const Tensor& b) { return b.dim() == 1 ? b.unsqueeze(1) : b; }

// The batch dims of a matrix-ized operand (everything before the last two).
Shape batch_shape(const Tensor& x) { return Shape(x.shape().begin(), x.shape().end() - 2); }

// The single stride that walks all of x's batch dims (..., rows, cols) as one flat batch, when one
// exists: size-1 dims are ignored, and each other dim must step over the next one exactly.
std::optional<int64_t> folded_batch_stride(const Tensor& x) {
    std::optional<int64_t> inner;  // stride of the innermost non-1 batch dim seen so far
    int64_t expected = 0;          // what the next outer non-1 dim's stride must be
    for (int64_t d = x.dim() - 3; d >= 0; --d) {
        if (x.size(d) == 1) continue;
        if (!inner) {
            inner = x.stride(d);
        } else if (x.stride(d) != expected) {
            return std::nullopt;
        }
        expected = x.stride(d) * x.size(d);
    }
    return inner.value_or(0);
}

// x (..., rows, cols) broadcast to `batch` batch dims, as the 3-D GEMM operand (B, rows, cols) or
// (1, rows, cols) when every batch dim broadcasts (batch stride 0). A view when one batch stride
// describes the broadcast batches (every 2-D/3-D case), else a contiguous copy of the expanded
// operand: e.g. a (2, 1, M, K) against (4, K, N) repeats each of a's matrices 4 times between
// matrices that are 2 apart, which no single stride can express.
Tensor fold_operand(const Tensor& x, const Shape& batch) {
    const int64_t rows = x.size(-2), cols = x.size(-1);
    Shape full = batch;
    full.push_back(rows);
    full.push_back(cols);
    const Tensor e = x.expand(full);
    bool all_broadcast = true;
    for (size_t d = 0; d < batch.size(); ++d)
        if (e.size(int64_t(d)) != 1 && e.stride(int64_t(d)) != 0) all_broadcast = false;
    if (all_broadcast) return e.as_strided({1, rows, cols}, {0, e.stride(-2), e.stride(-1)}, e.offset());
    const int64_t nb = shape_numel(batch);
    if (const auto s = folded_batch_stride(e))
        return e.as_strided({nb, rows, cols}, {*s, e.stride(-2), e.stride(-1)}, e.offset());
    return e.contiguous().view({nb, rows, cols});
}

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
    const bool ranks_ok = a.dim() >= 1 && b.dim() >= 1 && a.dim() <= kMaxDims && b.dim() <= kMaxDims;
    SEGCORE_CHECK(ranks_ok, kOp, ": expected operands with 1 to ", kMaxDims, " dimensions, got a ",
                  shape_str(a.shape()), " and b ", shape_str(b.shape()));
    const int64_t k = a.size(-1), kb = b.dim() == 1 ? b.size(0) : b.size(-2);
    SEGCORE_CHECK(k == kb, kOp, ": inner dimensions differ: a ", shape_str(a.shape()), " has ", k, " columns but b ",
                  shape_str(b.shape()), " has ", kb, " rows");
    const Shape ba = a.dim() > 2 ? Shape(a.shape().begin(), a.shape().end() - 2) : Shape{};
    const Shape bb = b.dim() > 2 ? Shape(b.shape().begin(), b.shape().end() - 2) : Shape{};
    // NumPy broadcasting of the batch dims, aligned from the right; a batch of 1 broadcasts, even against 0.
    const size_t nb = std::max(ba.size(), bb.size());
    Shape shape(nb);
    for (size_t i = 0; i < nb; ++i) {
        const int64_t da = i < nb - ba.size() ? 1 : ba[i - (nb - ba.size())];
        const int64_t db = i < nb - bb.size() ? 1 : bb[i - (nb - bb.size())];
        SEGCORE_CHECK(da == db || da == 1 || db == 1, kOp, ": batch dimensions do not broadcast: a ",
                      shape_str(a.shape()), " and b ", shape_str(b.shape()), " have batch sizes ", da, " and ", db,
                      " at batch dim ", i, " (a batch of 1 broadcasts, others must match)");
        shape[i] = da == 1 ? db : da;
    }
    if (a.dim() >= 2) shape.push_back(a.size(-2));  // a 1-D a has no M
    if (b.dim() >= 2) shape.push_back(b.size(-1));  // a 1-D b has no N
    return shape;
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

    // Everything below is one batched (B, M, K) @ (B, K, N) GEMM: 1-D operands become a row / a
    // column, the broadcast batch dims fold into B, and out gets its removed 1s back.
    const Tensor am = as_matrix_a(a), bm = as_matrix_b(b);
    const Shape batch = broadcast_shapes(batch_shape(am), batch_shape(bm));
    const int64_t nbatch = shape_numel(batch);
    const Tensor a3 = fold_operand(am, batch), b3 = fold_operand(bm, batch);
    const Operand oa = gemm_operand(a3), ob = gemm_operand(b3);
    kernels::GemmParams p;
    p.batch = nbatch;
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

    // out as (batch..., M, N) with the 1s of 1-D operands put back, then as (B, M, N) when one batch
    // stride walks it. C needs unit column stride and a distinct matrix per batch entry; otherwise
    // compute into a contiguous buffer (holding out's values when beta reads them) and copy back.
    Tensor om = b.dim() == 1 ? out.unsqueeze(out.dim()) : out;
    if (a.dim() == 1) om = om.unsqueeze(om.dim() - 1);
    const auto out_bstride = folded_batch_stride(om);
    const auto out_layout = blas_layout(p.m, p.n, om.stride(-2), om.stride(-1));
    const bool out_ok = out_bstride && out_layout && !out_layout->trans && (p.batch <= 1 || *out_bstride != 0);
    Tensor c3;
    if (out_ok)
        c3 = om.as_strided({p.batch, p.m, p.n}, {*out_bstride, om.stride(-2), om.stride(-1)}, om.offset());
    else
        c3 = (opt.beta != 0.0 ? om.clone() : empty(om.shape(), TensorOptions(out.dtype(), out.device())))
                 .view({p.batch, p.m, p.n});
    p.ldc = out_ok ? out_layout->ld : std::max<int64_t>(p.n, 1);
    p.stride_c = p.batch <= 1 ? 0 : c3.stride(0);

    // (B, M, K) @ (K, N) with packed batches is one (B*M, K) @ (K, N) GEMM: larger tiles, one call.
    if (p.batch > 1 && p.stride_b == 0 && !p.trans_a && p.stride_a == p.m * p.lda && p.stride_c == p.m * p.ldc) {
        p.m *= p.batch;
        p.batch = 1;
        p.stride_a = p.stride_c = 0;
    }

    if (shape_numel(shape) > 0) run_gemm(p, oa.t, ob.t, c3, opt.backend);
    if (!out_ok) out.copy_(c3.view(shape));
    return out;
}

}  // namespace segcore::ops
