// Differentiable region losses (autograd/functions.h): Dice / Generalised Dice / Tversky and
// Lovász-softmax. Formulas in kernels/loss/dice.h and kernels/loss/lovasz.h:
//   all:      dx_ic = go * p_ic (q_ic - sum_k p_ik q_ik),   p = softmax(x), q = dL/dp
//   dice:     q_ic = a_c [g_i == c] + b_c with (a_c, b_c) from the per-class sums I, P, G
//             (dice_finish); ignored pixels get 0
//   lovasz:   q_ic = grad_rank(i) sign(p_ic - fg_ic) / |K| (computed by the forward's sort)
// Saved: dice keeps logits, labels and the (3, C) sums (the softmax is recomputed); Lovász keeps
// logits and q (f32, logits-sized) so backward does not sort again. Labels are not
// differentiable. Autocast: the kernels read 16-bit logits as they are and compute in f32 (the
// policy table's "float32" intent for "dice_loss" / "lovasz_softmax") without materialising an
// f32 copy, so the wrappers do not cast; the loss is f32 and dx comes back in the logits' dtype.
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/loss/dice.h"
#include "kernels/loss/lovasz.h"

namespace segcore::autograd {

namespace {

struct DiceLossBackward : Node {
    ops::DiceLossOptions opt;
    Tensor logits, labels, stats;
    explicit DiceLossBackward(const ops::DiceLossOptions& o) : opt(o) {}
    std::string name() const override {
        switch (opt.variant) {
            case kernels::DiceVariant::Generalized: return "GeneralizedDiceLossBackward";
            case kernels::DiceVariant::Tversky: return "TverskyLossBackward";
            default: return "DiceLossBackward";
        }
    }
    tensor_list apply(tensor_list&& grads) override {
        return {ops::dice_loss_backward(grads[0], logits, labels, stats, opt)};
    }
    void release_saved() override { logits = labels = stats = Tensor(); }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        return {{"logits", logits}, {"labels", labels}, {"stats", stats}};
    }
};

struct LovaszSoftmaxBackward : Node {
    Tensor logits, dldp;
    std::string name() const override { return "LovaszSoftmaxBackward"; }
    tensor_list apply(tensor_list&& grads) override {
        return {ops::lovasz_softmax_backward(grads[0], logits, dldp)};
    }
    void release_saved() override { logits = dldp = Tensor(); }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        return {{"logits", logits}, {"dldp", dldp}};
    }
};

}  // namespace

Variable dice_loss(const Variable& logits, const Tensor& labels, const ops::DiceLossOptions& opt, Tensor* stats) {
    ops::DiceLossResult r = ops::dice_loss(logits.data(), labels, opt);
    if (stats) *stats = r.stats;
    auto node = record<DiceLossBackward>({&logits}, opt);
    if (node) {
        node->logits = logits.data();
        node->labels = labels;
        node->stats = r.stats;
    }
    return make_output(std::move(r.loss), node);
}

Variable generalized_dice_loss(const Variable& logits, const Tensor& labels, ops::DiceLossOptions opt) {
    opt.variant = kernels::DiceVariant::Generalized;
    return dice_loss(logits, labels, opt);
}

Variable tversky_loss(const Variable& logits, const Tensor& labels, double alpha, double beta,
                      ops::DiceLossOptions opt) {
    opt.variant = kernels::DiceVariant::Tversky;
    opt.alpha = alpha;
    opt.beta = beta;
    return dice_loss(logits, labels, opt);
}

Variable lovasz_softmax(const Variable& logits, const Tensor& labels, const ops::LovaszOptions& opt) {
    const bool want_grad = grad_enabled() && logits.requires_grad();
    ops::LovaszResult r = ops::lovasz_softmax(logits.data(), labels, opt, want_grad);
    auto node = record<LovaszSoftmaxBackward>({&logits});
    if (node) {
        node->logits = logits.data();
        node->dldp = r.dldp;
    }
    return make_output(std::move(r.loss), node);
}

}  // namespace segcore::autograd
