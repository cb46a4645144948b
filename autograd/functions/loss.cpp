// Differentiable fused per-pixel losses (autograd/functions.h): cross-entropy, focal, OHEM
// cross-entropy, knowledge distillation. The forward kernels (kernels/loss/) compute the loss and,
// when the logits require a gradient, the unscaled per-pixel gradient g_i = dl_i/dx in the same
// pass; the backward only rescales it:
//   dx = g * scale * upstream     (scale = 1 / sum weight for "mean", 1 otherwise; upstream per
//                                  pixel for "none"; OHEM also masks by q_i < threshold)
// Per-pixel formulas: kernels/loss/cross_entropy.h (CE, focal), ohem_cross_entropy.h, kd_loss.h.
// Saved: the gradient buffer, the device-resident totals (scale, threshold) and OHEM's q — never
// the logits. Labels and teacher logits are constants (no gradient).
//
// Autocast: these losses already compute in f32 from 16-bit logits (the policy table's "float32"
// intent) without materialising an f32 copy, so the wrappers do not cast.
#include "autograd/function_util.h"
#include "autograd/functions.h"

namespace segcore::autograd {

namespace {

struct PixelLossBackward : Node {
    const char* label;
    ops::PixelLossResult saved;
    explicit PixelLossBackward(const char* n) : label(n) {}
    std::string name() const override { return label; }
    tensor_list apply(tensor_list&& grads) override { return {ops::pixel_loss_backward(grads[0], saved)}; }
    void release_saved() override { saved.grad = saved.totals = saved.py = saved.loss = Tensor(); }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        std::vector<std::pair<std::string, Tensor>> v{{"grad", saved.grad}, {"totals", saved.totals}};
        if (saved.py.defined()) v.push_back({"p_target", saved.py});
        return v;
    }
};

bool wants_grad(const Variable& x) { return grad_enabled() && x.requires_grad(); }

template <typename F>
Variable pixel_loss(const char* node_name, const Variable& logits, F&& fused) {
    const bool want = wants_grad(logits);
    ops::PixelLossResult r = fused(want);
    auto node = record<PixelLossBackward>({&logits}, node_name);
    Tensor loss = r.loss;
    if (node) node->saved = std::move(r);  // the loss itself is kept for its shape (it is the output)
    return make_output(std::move(loss), node);
}

}  // namespace

Variable cross_entropy(const Variable& logits, const Tensor& labels, const ops::CrossEntropyOptions& opt) {
    return pixel_loss("CrossEntropyBackward", logits,
                      [&](bool g) { return ops::cross_entropy_fused(logits.data(), labels, opt, g); });
}

Variable focal_loss(const Variable& logits, const Tensor& labels, const ops::FocalLossOptions& opt) {
    return pixel_loss("FocalLossBackward", logits,
                      [&](bool g) { return ops::focal_loss_fused(logits.data(), labels, opt, g); });
}

Variable ohem_cross_entropy(const Variable& logits, const Tensor& labels, const ops::OhemOptions& opt) {
    return pixel_loss("OhemCrossEntropyBackward", logits,
                      [&](bool g) { return ops::ohem_cross_entropy_fused(logits.data(), labels, opt, g); });
}

Variable kd_loss(const Variable& student, const Tensor& teacher, const Tensor& labels, const ops::KdLossOptions& opt) {
    return pixel_loss("KdLossBackward", student,
                      [&](bool g) { return ops::kd_loss_fused(student.data(), teacher, labels, opt, g); });
}

}  // namespace segcore::autograd
