#include "seg/bench/throughput.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <sstream>

#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "core/error.h"
#include "core/json_parse.h"
#include "core/parallel.h"
#include "core/stream.h"
#include "core/tensor.h"
#include "nn/grad_scaler.h"
#include "nn/optim/sgd.h"
#include "seg/models/model_file.h"
#include "seg/models/registry.h"
#include "seg/models/summary.h"

namespace segcore::seg {

namespace {

namespace F = segcore::autograd;

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A model spec, or a training config whose "model" section is one (as `segcore info` reads them).
// A config usually leaves num_classes to its dataset (configs/camvid_enet.json: {"name": "enet"});
// resolving the dataset is the trainer's business, so `default_classes` stands in for it.
BenchModel build_from_json(const nlohmann::json& j, const std::string& where, int64_t default_classes) {
    // No model spec has a "model" key, while configs also carry their own "name" ("camvid_enet").
    const bool is_config = j.is_object() && j.contains("model") && j["model"].is_object();
    BenchModel b;
    b.spec = is_config ? j["model"] : j;
    if (is_config && b.spec.is_object() && !b.spec.contains("num_classes")) b.spec["num_classes"] = default_classes;
    try {
        b.model = build_model(b.spec, is_config ? "model" : "");
    } catch (const Error& e) {
        SEGCORE_THROW(where, ": ", e.message());
    }
    b.in_channels = b.spec.value("in_channels", int64_t(3));
    return b;
}

nlohmann::json read_spec(const std::string& text_or_path, bool is_file) {
    if (!is_file) return segcore::parse_json(text_or_path, "the model spec given on the command line");
    std::ifstream in(text_or_path, std::ios::binary);
    SEGCORE_CHECK(in, text_or_path, ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    return segcore::parse_json(ss.str(), text_or_path);
}

// Waits for the device, so a steady_clock reading brackets the kernels queued before it.
void sync(Device d) {
    if (d.is_cuda()) stream_synchronize(current_stream());
}

PhaseStats time_phase(const std::function<void()>& step, Device device, int64_t warmup, int64_t iters, int64_t batch) {
    for (int64_t i = 0; i < warmup; ++i) step();
    sync(device);
    PhaseStats s;
    for (int64_t i = 0; i < iters; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        step();
        sync(device);
        s.ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::vector<double> sorted = s.ms;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    s.median_ms = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    s.mean_ms = std::accumulate(sorted.begin(), sorted.end(), 0.0) / double(n);
    s.min_ms = sorted.front();
    s.max_ms = sorted.back();
    s.images_per_s = s.median_ms > 0 ? double(batch) * 1e3 / s.median_ms : 0;
    return s;
}

// Remembers which leaf modules run, to tell the summary's eval-mode layers from training-only ones.
class CalledLeaves final : public nn::ModuleCallObserver {
public:
    void on_exit(nn::Module& m, const Variable&, const Variable&) override {
        if (m.named_children().empty()) called.insert(&m);
    }
    std::set<const nn::Module*> called;
};

// Forward FLOPs per image of the layers that run in eval mode. summarize_model runs in training
// mode (to see auxiliary heads); counting its rows whole would credit inference with heads it never
// runs (FCN's aux head is ~10% of its FLOPs). One untimed eval forward on `x` records which leaves
// run; it doubles as a warm-up.
double eval_forward_flops(SegModel& model, const Variable& x, int64_t in_channels, int64_t h, int64_t w) {
    const ModelSummary s = summarize_model(model, in_channels, h, w);
    CalledLeaves rec;
    {
        nn::ObserveModuleCalls guard(&rec);
        model.forward_seg(x);
    }
    std::map<std::string, const nn::Module*> by_name;
    for (auto& [name, m] : model.named_modules()) by_name[name.empty() ? "(model)" : name] = m;
    double flops = 0;
    for (const LayerRow& r : s.rows) {
        const auto it = by_name.find(r.name);
        if (it != by_name.end() && rec.called.count(it->second)) flops += r.flops;
    }
    return flops;
}

nlohmann::json phase_json(const PhaseStats& p, bool with_flops) {
    nlohmann::json j = {{"median_ms", p.median_ms}, {"mean_ms", p.mean_ms}, {"min_ms", p.min_ms},
                        {"max_ms", p.max_ms},       {"images_per_s", p.images_per_s}, {"times_ms", p.ms}};
    if (with_flops) j["gflops_per_s"] = p.gflops_per_s;
    return j;
}

}  // namespace

BenchModel load_bench_model(const std::string& arg, int64_t default_classes) {
    SEGCORE_CHECK(!arg.empty(), "bench: give a model (a spec file, a .safetensors model file or a registered name)");
    if (ends_with(arg, ".safetensors")) {
        LoadedModel lm = load_model_file(arg);
        BenchModel b;
        b.model = lm.model;
        b.spec = lm.spec;
        b.in_channels = lm.spec.value("in_channels", int64_t(3));
        return b;
    }
    if (std::filesystem::is_regular_file(arg)) return build_from_json(read_spec(arg, true), arg, default_classes);
    if (arg.front() == '{') return build_from_json(read_spec(arg, false), "'" + arg + "'", default_classes);
    const std::vector<std::string> names = model_names();
    if (std::find(names.begin(), names.end(), arg) == names.end()) {
        std::string known;
        for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
        SEGCORE_THROW("unknown model '", arg, "': not a file, and not a registered model name (", known, ")");
    }
    return build_from_json({{"name", arg}, {"num_classes", default_classes}}, arg, default_classes);
}

DType parse_bench_amp(const std::string& s) {
    if (s == "off") return DType::F32;
    if (s == "bf16") return DType::BF16;
    if (s == "f16") return DType::F16;
    SEGCORE_THROW("--amp: expected off, bf16 or f16, got '", s, "'");
}

ThroughputResult measure_throughput(SegModel& model, const ThroughputOptions& o) {
    SEGCORE_CHECK(o.batch >= 1, "measure_throughput: batch must be >= 1, got ", o.batch);
    SEGCORE_CHECK(o.height >= 1 && o.width >= 1, "measure_throughput: bad size ", o.height, "x", o.width);
    SEGCORE_CHECK(o.in_channels >= 1, "measure_throughput: in_channels must be >= 1, got ", o.in_channels);
    SEGCORE_CHECK(o.warmup >= 0, "measure_throughput: warmup must be >= 0, got ", o.warmup);
    SEGCORE_CHECK(o.iters >= 1, "measure_throughput: iters must be >= 1, got ", o.iters);
    SEGCORE_CHECK(o.train || o.infer, "measure_throughput: nothing to measure (neither train nor infer)");
    SEGCORE_CHECK(o.amp == DType::F32 || o.amp == DType::BF16 || o.amp == DType::F16,
                  "measure_throughput: amp must be f32 (off), bf16 or f16, got ", dtype_name(o.amp));
    if (o.device.is_cuda()) require_cuda("segcore bench --device cuda");

    ThroughputResult r;
    r.model = model.type_name();
    r.params = model.num_parameters();
    r.options = o;
    r.threads = num_threads();
    const bool was_training = model.is_training();
    model.to(o.device);

    Generator gen(o.seed);
    const Variable x(randn({o.batch, o.in_channels, o.height, o.width}, {DType::F32, o.device}, &gen));
    const Tensor labels = randint(0, model.num_classes(), {o.batch, o.height, o.width}, {DType::I64, o.device}, &gen);
    const bool autocast = o.amp != DType::F32;
    // AutocastGuard insists on a 16-bit dtype even when disabled.
    const DType amp_dtype = autocast ? o.amp : DType::BF16;

    if (o.train) {
        model.train();
        nn::SgdOptions so;
        so.lr = o.lr;
        so.momentum = 0.9;
        nn::SGD opt(model.parameters(), so);
        nn::GradScalerOptions gso;
        gso.enabled = o.amp == DType::F16;  // f16 gradients underflow without loss scaling
        nn::GradScaler scaler(gso);
        ops::CrossEntropyOptions ce;
        // The labels are in range by construction; on CUDA the check is a read-back (a host sync)
        // per loss that would time the check, not the model.
        ce.check_labels = false;
        const auto step = [&] {
            opt.zero_grad();
            Variable loss;
            {
                F::AutocastGuard ac(amp_dtype, autocast);
                const SegOutput out = model.forward_seg(x);
                loss = F::cross_entropy(out.out, labels, ce);
                for (const auto& [name, aux] : out.aux) loss = F::add(loss, F::cross_entropy(aux, labels, ce), 0.4);
            }
            scaler.scale(loss).backward();
            scaler.step(opt);
            scaler.update();
        };
        r.train = time_phase(step, o.device, o.warmup, o.iters, o.batch);
    }

    if (o.infer) {
        model.eval();
        F::NoGradGuard no_grad;
        F::AutocastGuard ac(amp_dtype, autocast);
        r.forward_flops = eval_forward_flops(model, x, o.in_channels, o.height, o.width);
        const auto step = [&] { model.forward_seg(x); };
        r.infer = time_phase(step, o.device, o.warmup, o.iters, o.batch);
        r.infer.gflops_per_s = r.forward_flops * double(o.batch) / (r.infer.median_ms * 1e-3) * 1e-9;
    }
    model.train(was_training);
    return r;
}

std::string format_throughput(const ThroughputResult& r) {
    const ThroughputOptions& o = r.options;
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%s, %.2f M params, batch %lld x %lldx%lldx%lld, %s, %d threads, amp %s\n",
                  r.model.c_str(), double(r.params) * 1e-6, (long long)o.batch, (long long)o.in_channels,
                  (long long)o.height, (long long)o.width, o.device.str().c_str(), r.threads,
                  o.amp == DType::F32 ? "off" : dtype_name(o.amp));
    out += line;
    if (r.infer.ran()) {
        std::snprintf(line, sizeof line, "forward %.2f GFLOPs per image (eval-mode layers)\n", r.forward_flops * 1e-9);
        out += line;
    }
    std::snprintf(line, sizeof line, "  %-6s %6s %11s %11s %11s %11s %10s %9s\n", "mode", "iters", "median ms", "mean ms",
                  "min ms", "max ms", "images/s", "GFLOP/s");
    out += line;
    const auto row = [&](const char* mode, const PhaseStats& p, bool flops) {
        if (!p.ran()) return;
        char gf[32] = "-";
        if (flops) std::snprintf(gf, sizeof gf, "%.1f", p.gflops_per_s);
        std::snprintf(line, sizeof line, "  %-6s %6zu %11.2f %11.2f %11.2f %11.2f %10.2f %9s\n", mode, p.ms.size(),
                      p.median_ms, p.mean_ms, p.min_ms, p.max_ms, p.images_per_s, gf);
        out += line;
    };
    row("train", r.train, false);
    row("infer", r.infer, true);
    return out;
}

nlohmann::json throughput_json(const ThroughputResult& r) {
    const ThroughputOptions& o = r.options;
    nlohmann::json j = {{"model", r.model},
                        {"params", r.params},
                        {"batch", o.batch},
                        {"in_channels", o.in_channels},
                        {"height", o.height},
                        {"width", o.width},
                        {"device", o.device.str()},
                        {"amp", o.amp == DType::F32 ? "off" : dtype_name(o.amp)},
                        {"threads", r.threads},
                        {"warmup", o.warmup},
                        {"iters", o.iters}};
    if (r.train.ran()) j["train"] = phase_json(r.train, false);
    if (r.infer.ran()) {
        j["forward_gflops_per_image"] = r.forward_flops * 1e-9;
        j["infer"] = phase_json(r.infer, true);
    }
    return j;
}

}  // namespace segcore::seg
