// ops::confusion_matrix_update and friends (kernels/metrics/confusion.h): validation, the
// invalid-label check, dispatch.
#include "kernels/metrics/confusion.h"

#include <algorithm>
#include <sstream>

#include "kernels/common/dispatch.h"

namespace segcore::ops {

namespace {

constexpr const char* kOp = "confusion_matrix";

// Calls f with the C++ type of an integer label tensor (i64, i32, u8).
template <typename F>
void visit_label_dtype(DType t, const char* what, F&& f) {
    switch (t) {
        case DType::I64:
            f(TypeTag<int64_t>{});
            return;
        case DType::I32:
            f(TypeTag<int32_t>{});
            return;
        case DType::U8:
            f(TypeTag<uint8_t>{});
            return;
        default:
            break;
    }
    SEGCORE_THROW(kOp, ": ", what, " must be i64, i32 or u8 labels, got ", dtype_name(t));
}

// "(n=1, h=3, w=4)" for flat pixel index i of an (N, H, W) target (or "(n=1, pixel 17)" when the
// target is not 3-D).
std::string pixel_str(const Tensor& target, int64_t i) {
    std::ostringstream os;
    const int64_t hw = target.numel() / std::max<int64_t>(1, target.size(0));
    const int64_t n = i / hw, j = i % hw;
    if (target.dim() == 3)
        os << "(n=" << n << ", h=" << j / target.size(2) << ", w=" << j % target.size(2) << ")";
    else
        os << "(n=" << n << ", pixel " << j << ")";
    return os.str();
}

int64_t value_at(const Tensor& t, int64_t flat) {
    return t.contiguous().reshape({-1}).narrow(0, flat, 1).to(DType::I64).cpu().data<int64_t>()[0];
}

}  // namespace

Tensor confusion_status(Device device) {
    Tensor s = empty({kernels::kConfusionStatusSize}, {DType::I64});
    int64_t* d = s.data<int64_t>();
    d[kernels::kBadTargetCount] = 0;
    d[kernels::kBadTargetFirst] = kernels::kNoPixel;
    d[kernels::kBadPredCount] = 0;
    d[kernels::kBadPredFirst] = kernels::kNoPixel;
    return s.to(device);
}

void confusion_matrix_update(Tensor& conf, const Tensor& input_in, const Tensor& target_in, const ConfusionOptions& opt,
                             const Tensor& status_in) {
    check_defined(kOp, {&conf, &input_in, &target_in});
    check_same_device(kOp, {&conf, &input_in, &target_in});
    SEGCORE_CHECK(conf.dtype() == DType::I64 && conf.dim() == 2 && conf.size(0) == conf.size(1), kOp,
                  ": the matrix must be a square (C, C) i64 tensor, got ", conf.meta_str());
    SEGCORE_CHECK(conf.is_contiguous(), kOp, ": the matrix must be contiguous (it is updated in place)");
    const int64_t c = conf.size(0);
    SEGCORE_CHECK(c >= 1 && c <= kernels::kMaxConfusionClasses, kOp, ": the number of classes must be in [1, ",
                  kernels::kMaxConfusionClasses, "], got ", c);
    const bool logits = is_floating(input_in.dtype());
    SEGCORE_CHECK(target_in.dim() >= 1, kOp, ": the target must be (N, H, W), got ", shape_str(target_in.shape()));
    if (logits) {
        SEGCORE_CHECK(input_in.dim() == target_in.dim() + 1, kOp, ": logits (N, C, H, W) need a target (N, H, W), got ",
                      "logits ", shape_str(input_in.shape()), " and target ", shape_str(target_in.shape()));
        Shape expect = target_in.shape();
        expect.insert(expect.begin() + 1, c);
        SEGCORE_CHECK(input_in.shape() == expect, kOp, ": logits ", shape_str(input_in.shape()),
                      " do not match the target ", shape_str(target_in.shape()), " and the ", c,
                      "-class matrix (expected ", shape_str(expect), ")");
    } else {
        SEGCORE_CHECK(input_in.shape() == target_in.shape(), kOp, ": predicted labels ", shape_str(input_in.shape()),
                      " must have the target's shape ", shape_str(target_in.shape()),
                      " (pass logits (N, C, H, W) as a floating tensor)");
    }
    Tensor status = status_in;
    if (status.defined()) {
        SEGCORE_CHECK(status.dtype() == DType::I64 && status.dim() == 1 &&
                          status.size(0) == kernels::kConfusionStatusSize && status.is_contiguous(),
                      kOp, ": the status must be a contiguous (4) i64 tensor (ops::confusion_status), got ",
                      status.meta_str());
        SEGCORE_CHECK(status.device() == conf.device(), kOp, ": the status is on ", status.device().str(),
                      " but the matrix is on ", conf.device().str());
    }
    // The check needs a status of this call alone: a fresh one, added to the caller's afterwards.
    Tensor own = opt.check_labels ? confusion_status(conf.device()) : Tensor();
    Tensor run_status = own.defined() ? own : status;

    kernels::ConfusionParams p;
    p.n = target_in.size(0);
    p.c = c;
    p.hw = p.n > 0 ? target_in.numel() / p.n : 0;
    p.ignore_index = opt.ignore_index;
    if (target_in.numel() == 0) return;
    const Tensor input = input_in.contiguous(), target = target_in.contiguous();
    int64_t* cm = conf.data<int64_t>();
    int64_t* st = run_status.defined() ? run_status.data<int64_t>() : nullptr;

    visit_label_dtype(target.dtype(), "the target", [&](auto ltag) {
        using L = typename decltype(ltag)::type;
        if (logits) {
            const auto run = [&](auto tag) {
                using T = typename decltype(tag)::type;
                if (input.is_cuda()) {
                    SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>)
                                          kernels::confusion_from_logits_cuda<T, L>(
                                              p, input.data<T>(), target.data<L>(), cm, st, current_stream()));
                } else {
                    kernels::confusion_from_logits_cpu<T, L>(p, input.data<T>(), target.data<L>(), cm, st);
                }
            };
            if (input.is_cuda())
                visit_cuda_float_dtype(input.dtype(), kOp, run);
            else
                visit_float_dtype(input.dtype(), kOp, run);
        } else {
            visit_label_dtype(input.dtype(), "the prediction", [&](auto ptag) {
                using P = typename decltype(ptag)::type;
                if (input.is_cuda())
                    SEGCORE_CUDA_CALL(kernels::confusion_from_labels_cuda<P, L>(p, input.data<P>(), target.data<L>(),
                                                                                cm, st, current_stream()));
                else
                    kernels::confusion_from_labels_cpu<P, L>(p, input.data<P>(), target.data<L>(), cm, st);
            });
        }
    });

    if (own.defined()) {
        const Tensor h = own.cpu();  // CUDA: this copy is the one synchronisation of the check
        const int64_t* s = h.data<int64_t>();
        if (status.defined()) {
            const Tensor merged = status.cpu().clone();
            int64_t* m = merged.data<int64_t>();
            m[kernels::kBadTargetCount] += s[kernels::kBadTargetCount];
            m[kernels::kBadTargetFirst] = std::min(m[kernels::kBadTargetFirst], s[kernels::kBadTargetFirst]);
            m[kernels::kBadPredCount] += s[kernels::kBadPredCount];
            m[kernels::kBadPredFirst] = std::min(m[kernels::kBadPredFirst], s[kernels::kBadPredFirst]);
            Tensor dst = status;
            dst.copy_(merged);
        }
        if (s[kernels::kBadTargetCount] > 0) {
            const int64_t i = s[kernels::kBadTargetFirst];
            SEGCORE_THROW(kOp, ": ground-truth label ", value_at(target, i), " at pixel ", pixel_str(target, i),
                          " is outside [0, ", c, ") and is not ignore_index ", opt.ignore_index, " (",
                          s[kernels::kBadTargetCount], " such pixel(s) in this batch; they were not counted)");
        }
        if (s[kernels::kBadPredCount] > 0) {
            const int64_t i = s[kernels::kBadPredFirst];
            SEGCORE_THROW(kOp, ": predicted label ", value_at(input, i), " at pixel ", pixel_str(target, i),
                          " is outside [0, ", c, ") (", s[kernels::kBadPredCount],
                          " such pixel(s) in this batch; they were not counted)");
        }
    }
}

Tensor confusion_matrix(const Tensor& input, const Tensor& target, int64_t num_classes, const ConfusionOptions& opt) {
    SEGCORE_CHECK(num_classes >= 1 && num_classes <= kernels::kMaxConfusionClasses, kOp,
                  ": the number of classes must be in [1, ", kernels::kMaxConfusionClasses, "], got ", num_classes);
    check_defined(kOp, {&input});
    Tensor conf = zeros({num_classes, num_classes}, {DType::I64, input.device()});
    confusion_matrix_update(conf, input, target, opt);
    return conf;
}

void confusion_matrix_merge_(Tensor& conf, const Tensor& other_in) {
    const char* op = "confusion_matrix_merge_";
    check_defined(op, {&conf, &other_in});
    SEGCORE_CHECK(conf.dtype() == DType::I64 && other_in.dtype() == DType::I64 && conf.shape() == other_in.shape() &&
                      conf.dim() == 2 && conf.is_contiguous(),
                  op, ": both matrices must be (C, C) i64 of the same C (the target contiguous), got ", conf.meta_str(),
                  " and ", other_in.meta_str());
    const Tensor other = other_in.to(conf.device()).contiguous();
    if (conf.is_cuda()) {
        SEGCORE_CUDA_CALL(
            kernels::confusion_add_cuda(conf.data<int64_t>(), other.data<int64_t>(), conf.numel(), current_stream()));
    } else {
        int64_t* d = conf.data<int64_t>();
        const int64_t* s = other.data<int64_t>();
        for (int64_t i = 0; i < conf.numel(); ++i) d[i] += s[i];
    }
}

}  // namespace segcore::ops
