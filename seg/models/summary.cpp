#include "seg/models/summary.h"

#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "core/allocator.h"
#include "core/error.h"
#include "nn/layers.h"

namespace segcore::seg {

namespace {

// Two images, not one: batch norm in training mode needs more than one value per channel, and the
// pooled 1x1 branches (ASPP, PSP, attention) would have exactly one at batch 1.
constexpr int64_t kRunBatch = 2;

// FLOPs of one call of a leaf module with input x and output y (see the header for the rules).
double leaf_flops(nn::Module& m, const Shape& x, const Shape& y) {
    const auto numel = [](const Shape& s) {
        double n = 1;
        for (int64_t d : s) n *= double(d);
        return n;
    };
    if (auto* c = dynamic_cast<nn::Conv2d*>(&m)) {
        const double macs = numel(y) * double(c->in_channels / c->cfg.groups * c->kernel_size * c->kernel_size);
        return 2 * macs + (c->bias.defined() ? numel(y) : 0);
    }
    if (auto* c = dynamic_cast<nn::ConvTranspose2d*>(&m)) {
        const double macs = numel(x) * double(c->out_channels / c->cfg.groups * c->kernel_size * c->kernel_size);
        return 2 * macs + (c->bias.defined() ? numel(y) : 0);
    }
    if (auto* l = dynamic_cast<nn::Linear*>(&m))
        return 2 * numel(y) * double(l->in_features) + (l->bias.defined() ? numel(y) : 0);
    if (dynamic_cast<nn::BatchNorm2d*>(&m)) return 2 * numel(y);
    return numel(y);
}

int64_t own_params(const nn::Module& m) {
    int64_t n = 0;
    for (const auto& [name, p] : m.named_parameters(/*recurse=*/false)) n += p.numel();
    return n;
}

class Recorder final : public nn::ModuleCallObserver {
public:
    Recorder(std::map<const nn::Module*, std::string> names, ModelSummary& s) : names_(std::move(names)), s_(s) {}
    void on_exit(nn::Module& m, const Variable& x, const Variable& y) override {
        if (!m.named_children().empty() || !y.defined()) return;  // leaves only: containers would double-count
        LayerRow r;
        const auto it = names_.find(&m);
        r.name = it == names_.end() ? "?" : it->second;
        r.type = m.type_name();
        r.output = y.shape();
        r.output[0] = 1;  // reported per image: the run uses kRunBatch images
        r.params = own_params(m);
        r.flops = leaf_flops(m, x.shape(), y.shape()) / kRunBatch;
        r.output_elems = y.numel() / kRunBatch;
        s_.rows.push_back(std::move(r));
    }

private:
    std::map<const nn::Module*, std::string> names_;
    ModelSummary& s_;
};

std::string human(double v, const char* unit) {
    const char* prefix[] = {"", "K", "M", "G", "T", "P"};
    int i = 0;
    while (v >= 1000 && i < 5) v /= 1000, ++i;
    char b[32];
    std::snprintf(b, sizeof b, "%.2f %s%s", v, prefix[i], unit);
    return b;
}

}  // namespace

ModelSummary summarize_model(SegModel& model, int64_t in_channels, int64_t h, int64_t w) {
    SEGCORE_CHECK(in_channels > 0 && h > 0 && w > 0, "summarize_model: bad input size ", in_channels, "x", h, "x", w);
    ModelSummary s;
    s.model = model.type_name();
    s.input = {1, in_channels, h, w};
    std::map<const nn::Module*, std::string> names;
    for (auto& [name, mod] : model.named_modules()) names[mod] = name.empty() ? "(model)" : name;
    // Training mode runs the auxiliary heads; the forward updates batch-norm running statistics,
    // so the buffers are copied first and written back after.
    std::vector<std::pair<Variable, Tensor>> saved;
    for (auto& [name, b] : model.named_buffers()) saved.emplace_back(b, b.data().clone());
    const bool was_training = model.is_training();
    model.train();
    {
        autograd::NoGradGuard no_grad;
        Recorder rec(names, s);
        nn::ObserveModuleCalls guard(&rec);
        Shape run_shape = s.input;
        run_shape[0] = kRunBatch;
        const Variable x(zeros(run_shape, {model.parameters().empty() ? DType::F32 : model.parameters()[0].dtype(),
                                          model.parameters().empty() ? Device::cpu() : model.parameters()[0].device()}));
        const SegOutput out = model.forward_seg(x);
        s.output = out.out.shape();
        s.output[0] = 1;
        s.aux_heads = int64_t(out.aux.size());
    }
    model.train(was_training);
    for (auto& [v, t] : saved) {
        Tensor live = v.data();  // a handle to the module's buffer
        live.copy_(t);
    }
    s.total_params = model.num_parameters();
    s.trainable_params = model.num_parameters(/*trainable_only=*/true);
    for (const LayerRow& r : s.rows) {
        s.total_flops += r.flops;
        s.activation_elems += r.output_elems;
    }
    return s;
}

MemoryEstimate estimate_training_memory(const ModelSummary& s, int64_t batch, DType precision,
                                        const std::string& optimizer) {
    SEGCORE_CHECK(batch >= 1, "estimate_training_memory: batch must be >= 1, got ", batch);
    SEGCORE_CHECK(precision == DType::F32 || precision == DType::F16 || precision == DType::BF16,
                  "estimate_training_memory: precision must be f32, f16 or bf16, got ", dtype_name(precision));
    int64_t opt_copies = 0;
    if (optimizer == "sgd") opt_copies = 1;
    else if (optimizer == "adam" || optimizer == "adamw") opt_copies = 2;
    else SEGCORE_CHECK(optimizer == "none", "estimate_training_memory: optimizer must be sgd, adam, adamw or none, got ",
                       optimizer);
    MemoryEstimate m;
    m.params = 4 * s.total_params;
    m.grads = 4 * s.trainable_params;
    m.optimizer = 4 * s.trainable_params * opt_copies;
    m.activations = s.activation_elems * batch * int64_t(dtype_size(precision));
    int64_t logits = batch;
    for (size_t i = 1; i < s.output.size(); ++i) logits *= s.output[i];
    m.loss = 2 * 4 * logits * (1 + s.aux_heads);  // logits (and aux logits) and their gradients in f32
    m.slack = (m.params + m.grads + m.optimizer + m.activations + m.loss) / 10;
    return m;
}

std::string format_summary(const ModelSummary& s, const MemoryEstimate& m, int64_t batch, DType precision) {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%-44s %-22s %-22s %12s %12s\n", "layer", "type", "output", "params", "FLOPs");
    out += line;
    out += std::string(116, '-') + "\n";
    for (const LayerRow& r : s.rows) {
        std::snprintf(line, sizeof line, "%-44s %-22s %-22s %12lld %12s\n", r.name.c_str(), r.type.c_str(),
                      shape_str(r.output).c_str(), (long long)r.params, human(r.flops, "").c_str());
        out += line;
    }
    out += std::string(116, '-') + "\n";
    std::snprintf(line, sizeof line,
                  "%s on %s: output %s, %lld auxiliary head(s)\n"
                  "parameters: %lld (%lld trainable, %s in f32)\n"
                  "forward FLOPs per image: %s (about 3x that for a training step)\n"
                  "activations per image: %lld elements\n",
                  s.model.c_str(), shape_str(s.input).c_str(), shape_str(s.output).c_str(), (long long)s.aux_heads,
                  (long long)s.total_params, (long long)s.trainable_params, bytes_str(4 * s.total_params).c_str(),
                  human(s.total_flops, "FLOP").c_str(), (long long)s.activation_elems);
    out += line;
    std::snprintf(line, sizeof line,
                  "estimated peak training memory at batch %lld, %s: %s\n"
                  "  parameters %s, gradients %s, optimizer state %s, activations %s, loss %s, slack %s\n",
                  (long long)batch, dtype_name(precision), bytes_str(m.total()).c_str(), bytes_str(m.params).c_str(),
                  bytes_str(m.grads).c_str(), bytes_str(m.optimizer).c_str(), bytes_str(m.activations).c_str(),
                  bytes_str(m.loss).c_str(), bytes_str(m.slack).c_str());
    out += line;
    return out;
}

std::string summary_json(const ModelSummary& s, const MemoryEstimate& m, int64_t batch, DType precision) {
    nlohmann::json j;
    j["model"] = s.model;
    j["input"] = s.input;
    j["output"] = s.output;
    j["aux_heads"] = s.aux_heads;
    j["params"] = s.total_params;
    j["trainable_params"] = s.trainable_params;
    j["flops"] = s.total_flops;
    j["activation_elements"] = s.activation_elems;
    for (const LayerRow& r : s.rows)
        j["layers"].push_back({{"name", r.name}, {"type", r.type}, {"output", r.output}, {"params", r.params},
                               {"flops", r.flops}});
    j["memory"] = {{"batch", batch},          {"precision", dtype_name(precision)}, {"params", m.params},
                   {"grads", m.grads},        {"optimizer", m.optimizer},           {"activations", m.activations},
                   {"loss", m.loss},          {"slack", m.slack},                   {"total", m.total()}};
    return j.dump(2);
}

}  // namespace segcore::seg
