// ops::batch_norm and friends (kernels/norm/batch_norm.h): validation, allocation, dispatch.
#include "kernels/norm/batch_norm.h"

#include <cmath>

#include "kernels/common/dispatch.h"

namespace segcore::ops {

namespace {

constexpr const char* kOp = "batch_norm";

// The statistics dtype that goes with an activation dtype.
DType stats_dtype(DType x) { return x == DType::F64 ? DType::F64 : DType::F32; }

void check_channel_tensor(const Tensor& t, const char* name, int64_t c, DType s, Device d) {
    if (!t.defined()) return;
    SEGCORE_CHECK(t.dim() == 1 && t.size(0) == c, kOp, ": ", name, " must be (", c, "), got ", shape_str(t.shape()));
    SEGCORE_CHECK(t.dtype() == s, kOp, ": ", name, " must be ", dtype_name(s), " (statistics and affine parameters stay in ",
                  dtype_name(s), " for a ", s == DType::F64 ? "f64" : "f32/f16/bf16", " input), got ", dtype_name(t.dtype()));
    SEGCORE_CHECK(t.device() == d, kOp, ": ", name, " is on ", t.device().str(), " but the input is on ", d.str());
    SEGCORE_CHECK(t.is_contiguous(), kOp, ": ", name, " must be contiguous");
}

kernels::BatchNormParams params_of(const Tensor& x, double momentum, double eps, kernels::BnAct act) {
    SEGCORE_CHECK(x.dim() >= 2, kOp, ": the input must be (N, C, ...), got ", shape_str(x.shape()));
    check_floating(kOp, x, "x");
    kernels::BatchNormParams p;
    p.n = x.size(0);
    p.c = x.size(1);
    p.hw = 1;
    for (int64_t d = 2; d < x.dim(); ++d) p.hw *= x.size(d);
    p.eps = eps;
    p.momentum = momentum;
    p.act = act;
    SEGCORE_CHECK(eps > 0, kOp, ": eps must be positive, got ", eps);
    return p;
}

template <typename S>
const S* ptr_or_null(const Tensor& t) {
    return t.defined() ? t.data<S>() : nullptr;
}
template <typename S>
S* mut_ptr_or_null(const Tensor& t) {
    return t.defined() ? t.data<S>() : nullptr;
}

}  // namespace

BatchNormResult batch_norm(const Tensor& x_in, const Tensor& gamma, const Tensor& beta, Tensor running_mean,
                           Tensor running_var, bool training, double momentum, double eps, kernels::BnAct act) {
    check_defined(kOp, {&x_in});
    const kernels::BatchNormParams p = params_of(x_in, momentum, eps, act);
    const DType sd = stats_dtype(x_in.dtype());
    for (auto [t, n] : {std::pair{&gamma, "weight"}, {&beta, "bias"}, {&running_mean, "running_mean"},
                        {&running_var, "running_var"}})
        check_channel_tensor(*t, n, p.c, sd, x_in.device());
    if (training)
        SEGCORE_CHECK(p.n * p.hw > 1, kOp, ": training needs more than one value per channel to compute batch ",
                      "statistics, got input ", shape_str(x_in.shape()), " (use eval mode, or a larger batch/crop)");
    else
        SEGCORE_CHECK(running_mean.defined() && running_var.defined(), kOp,
                      ": eval mode needs running statistics (this layer was built with track_running_stats = false)");
    const Tensor x = x_in.contiguous();
    BatchNormResult r;
    r.y = empty(x.shape(), {x.dtype(), x.device()});
    r.save_mean = empty({p.c}, {sd, x.device()});
    r.save_invstd = empty({p.c}, {sd, x.device()});
    if (!training) {
        // The running statistics, as mean and invstd, so one apply/backward path serves both modes.
        r.save_mean.copy_(running_mean);
        Tensor rv = running_var.to(DType::F64).cpu();
        Tensor inv = empty({p.c}, {DType::F64});
        for (int64_t c = 0; c < p.c; ++c) inv.data<double>()[c] = 1.0 / std::sqrt(rv.data<double>()[c] + eps);
        r.save_invstd.copy_(inv);
    }
    const auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
        if (x.is_cuda()) {
            SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>) {
                if (training)
                    kernels::batch_norm_train_forward_cuda<T, S>(
                        p, x.data<T>(), ptr_or_null<S>(gamma), ptr_or_null<S>(beta), r.y.data<T>(),
                        r.save_mean.data<S>(), r.save_invstd.data<S>(), mut_ptr_or_null<S>(running_mean),
                        mut_ptr_or_null<S>(running_var), current_stream());
                else
                    kernels::batch_norm_apply_cuda<T, S>(p, x.data<T>(), r.save_mean.data<S>(), r.save_invstd.data<S>(),
                                                         ptr_or_null<S>(gamma), ptr_or_null<S>(beta), r.y.data<T>(),
                                                         current_stream());
            });
        } else if (training) {
            kernels::batch_norm_train_forward_cpu<T, S>(p, x.data<T>(), ptr_or_null<S>(gamma), ptr_or_null<S>(beta),
                                                        r.y.data<T>(), r.save_mean.data<S>(), r.save_invstd.data<S>(),
                                                        mut_ptr_or_null<S>(running_mean), mut_ptr_or_null<S>(running_var));
        } else {
            kernels::batch_norm_apply_cpu<T, S>(p, x.data<T>(), r.save_mean.data<S>(), r.save_invstd.data<S>(),
                                                ptr_or_null<S>(gamma), ptr_or_null<S>(beta), r.y.data<T>());
        }
    };
    if (x.is_cuda()) visit_cuda_float_dtype(x.dtype(), kOp, run);
    else visit_float_dtype(x.dtype(), kOp, run);
    return r;
}

BatchNormGrads batch_norm_backward(const Tensor& dy_in, const Tensor& x_in, const Tensor& save_mean,
                                   const Tensor& save_invstd, const Tensor& gamma, const Tensor& beta, bool training,
                                   kernels::BnAct act) {
    const char* op = "batch_norm_backward";
    check_defined(op, {&dy_in, &x_in, &save_mean, &save_invstd});
    check_same_device(op, {&dy_in, &x_in});
    check_same_dtype(op, {&dy_in, &x_in});
    SEGCORE_CHECK(dy_in.shape() == x_in.shape(), op, ": dy ", shape_str(dy_in.shape()), " must match x ",
                  shape_str(x_in.shape()));
    const kernels::BatchNormParams p = params_of(x_in, 0.0, 1.0, act);
    const DType sd = stats_dtype(x_in.dtype());
    for (auto [t, n] : {std::pair{&gamma, "weight"}, {&beta, "bias"}, {&save_mean, "save_mean"},
                        {&save_invstd, "save_invstd"}})
        check_channel_tensor(*t, n, p.c, sd, x_in.device());
    const Tensor dy = dy_in.contiguous(), x = x_in.contiguous();
    BatchNormGrads g;
    g.dx = empty(x.shape(), {x.dtype(), x.device()});
    g.dgamma = empty({p.c}, {sd, x.device()});
    g.dbeta = empty({p.c}, {sd, x.device()});
    const auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
        if (x.is_cuda()) {
            SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>) kernels::batch_norm_backward_cuda<T, S>(
                p, training, dy.data<T>(), x.data<T>(), save_mean.data<S>(), save_invstd.data<S>(), ptr_or_null<S>(gamma),
                ptr_or_null<S>(beta), g.dx.data<T>(), g.dgamma.data<S>(), g.dbeta.data<S>(), current_stream()));
        } else {
            kernels::batch_norm_backward_cpu<T, S>(p, training, dy.data<T>(), x.data<T>(), save_mean.data<S>(),
                                                   save_invstd.data<S>(), ptr_or_null<S>(gamma), ptr_or_null<S>(beta),
                                                   g.dx.data<T>(), g.dgamma.data<S>(), g.dbeta.data<S>());
        }
    };
    if (x.is_cuda()) visit_cuda_float_dtype(x.dtype(), op, run);
    else visit_float_dtype(x.dtype(), op, run);
    return g;
}

std::pair<Tensor, Tensor> fold_batch_norm(const Tensor& w, const Tensor& b, const Tensor& gamma, const Tensor& beta,
                                          const Tensor& running_mean, const Tensor& running_var, double eps) {
    const char* op = "fold_batch_norm";
    check_defined(op, {&w, &running_mean, &running_var});
    SEGCORE_CHECK(w.dim() >= 1, op, ": the weight needs an output-channel dim");
    const int64_t k = w.size(0);
    for (const Tensor* t : {&b, &gamma, &beta, &running_mean, &running_var})
        if (t->defined())
            SEGCORE_CHECK(t->dim() == 1 && t->size(0) == k, op, ": every per-channel tensor must be (", k, "), got ",
                          shape_str(t->shape()));
    const auto host = [](const Tensor& t) { return t.to(DType::F64).cpu().contiguous(); };
    const Tensor w64 = host(w), rm = host(running_mean), rv = host(running_var);
    const Tensor g64 = gamma.defined() ? host(gamma) : Tensor(), be64 = beta.defined() ? host(beta) : Tensor();
    const Tensor b64 = b.defined() ? host(b) : Tensor();
    Tensor wf = w64.clone(), bf = empty({k}, {DType::F64});
    const int64_t per = k > 0 ? w64.numel() / k : 0;
    for (int64_t c = 0; c < k; ++c) {
        const double scale = (g64.defined() ? g64.data<double>()[c] : 1.0) / std::sqrt(rv.data<double>()[c] + eps);
        for (int64_t i = 0; i < per; ++i) wf.data<double>()[c * per + i] *= scale;
        bf.data<double>()[c] = ((b64.defined() ? b64.data<double>()[c] : 0.0) - rm.data<double>()[c]) * scale +
                               (be64.defined() ? be64.data<double>()[c] : 0.0);
    }
    return {wf.to(w.device(), w.dtype()), bf.to(w.device(), w.dtype())};
}

}  // namespace segcore::ops
