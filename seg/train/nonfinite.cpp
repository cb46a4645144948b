#include "seg/train/nonfinite.h"

#include <sstream>

#include "autograd/grad_mode.h"
#include "core/dtype.h"
#include "nn/module.h"

namespace segcore::seg {

namespace {

// Records the first module whose output is not finite. Checking every call costs a device sync
// per module — fine here: this runs once, after training has already failed.
struct FirstNonFinite final : nn::ModuleCallObserver {
    std::string found;
    std::vector<std::string> stack;
    const std::map<const nn::Module*, std::string>* names = nullptr;
    void on_exit(nn::Module& m, const Variable&, const Variable& out) override {
        if (!found.empty() || !out.defined()) return;
        const int64_t i = first_nonfinite(out.data());
        if (i < 0) return;
        const auto it = names->find(&m);
        const std::string name = it == names->end() ? "?" : (it->second.empty() ? "(the model)" : it->second);
        found = "the output of '" + name + "' (" + m.type_name() + "), " + describe_element(out.data(), i);
    }
};

}  // namespace

std::string locate_nonfinite(SegModel& model, const Tensor& images, bool grads) {
    for (const auto& [name, p] : model.named_parameters())
        if (const int64_t i = first_nonfinite(p.data()); i >= 0)
            return "parameter '" + name + "', " + describe_element(p.data(), i);
    if (grads)
        for (const auto& [name, p] : model.named_parameters())
            if (const int64_t i = first_nonfinite(p.grad()); i >= 0)
                return "the gradient of parameter '" + name + "', " + describe_element(p.grad(), i);
    if (const int64_t i = first_nonfinite(images); i >= 0) return "the input images, " + describe_element(images, i);

    // Re-run the forward pass with an observer; batch-norm running statistics are restored after.
    std::map<const nn::Module*, std::string> names;
    for (const auto& [name, m] : model.named_modules()) names[m] = name;
    names[&model] = "";
    std::vector<Tensor> saved;
    const auto buffers = model.named_buffers();
    for (const auto& [n, b] : buffers) saved.push_back(b.data().clone());
    FirstNonFinite obs;
    obs.names = &names;
    {
        autograd::NoGradGuard no_grad;
        nn::ObserveModuleCalls guard(&obs);
        model(Variable(images));
    }
    for (size_t k = 0; k < buffers.size(); ++k) {
        Tensor dst = buffers[k].second.data();
        dst.copy_(saved[k]);
    }
    if (!obs.found.empty()) return obs.found;
    return "no parameter, gradient, input or layer output is non-finite: the loss computation itself overflowed";
}

}  // namespace segcore::seg
