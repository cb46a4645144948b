// `segcore bench MODEL`: model throughput — a training step (forward, cross-entropy, backward, SGD
// with momentum) and an inference forward on random inputs, timed on a device, as a table of
// median/mean ms, images/s and (inference) GFLOP/s; --json writes the same numbers. The
// measurement itself is seg/bench/throughput.h; docs/bench.md has examples and the PyTorch peer.
#include <cstdio>
#include <memory>
#include <string>
#include <tuple>

#include "apps/commands.h"
#include "core/device.h"
#include "core/error.h"
#include "core/parallel.h"
#include "data/file_util.h"
#include "seg/bench/throughput.h"
#include "seg/inference/infer.h"

namespace segcore::apps {

namespace {

struct BenchOptions {
    std::string model, size = "360x480", device = "cpu", amp = "off", mode = "both", json;
    int64_t batch = 4, warmup = 2, iters = 10, classes = 11;
    int threads = 0;  // 0: segcore's default (SEGCORE_NUM_THREADS, else every core)
};

void run_bench(const BenchOptions& o) {
    // Threads first: the model build and the summary run on the pool too.
    if (o.threads > 0) set_num_threads(o.threads);
    seg::ThroughputOptions t;
    std::tie(t.height, t.width) = seg::parse_size_hw(o.size, "--size");
    t.batch = o.batch;
    t.device = Device::parse(o.device);
    if (t.device.is_cuda()) require_cuda("segcore bench --device cuda");  // before a model is built for nothing
    t.amp = seg::parse_bench_amp(o.amp);
    t.train = o.mode == "train" || o.mode == "both";
    t.infer = o.mode == "infer" || o.mode == "both";
    t.warmup = o.warmup;
    t.iters = o.iters;
    seg::BenchModel m = seg::load_bench_model(o.model, o.classes);
    t.in_channels = m.in_channels;
    std::printf("segcore bench: %s\n", o.model.c_str());
    std::fflush(stdout);  // a long CPU run shows what it is measuring before the numbers
    const seg::ThroughputResult r = seg::measure_throughput(*m.model, t);
    std::printf("%s", seg::format_throughput(r).c_str());
    if (!o.json.empty()) {
        nlohmann::json j = seg::throughput_json(r);
        j["spec"] = m.spec;
        const std::string text = j.dump(2) + "\n";
        data::write_file_atomic(o.json, text.data(), text.size());
        std::printf("written to %s\n", o.json.c_str());
    }
}

}  // namespace

void add_bench_command(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    auto* cmd = app.add_subcommand("bench", "Model throughput: time a training step and an inference forward on "
                                            "random inputs (ms, images/s, GFLOP/s)");
    cmd->add_option("model", o->model,
                    "model JSON spec (or training config), .safetensors model file, inline JSON, or a registered name")
        ->required();
    cmd->add_option("--size", o->size, "input HxW")->capture_default_str();
    cmd->add_option("--batch", o->batch, "images per step")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--amp", o->amp, "autocast: off, bf16, or f16 (with loss scaling in training)")
        ->capture_default_str()
        ->check(CLI::IsMember({"off", "bf16", "f16"}));
    cmd->add_option("--mode", o->mode, "train, infer or both")->capture_default_str()->check(CLI::IsMember({"train", "infer", "both"}));
    cmd->add_option("--warmup", o->warmup, "untimed iterations per mode")->capture_default_str()->check(CLI::NonNegativeNumber);
    cmd->add_option("--iters", o->iters, "timed iterations per mode")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--threads", o->threads, "CPU threads (default: SEGCORE_NUM_THREADS, else every core)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--classes", o->classes, "classes when MODEL is a bare registered name (default 11, CamVid's)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--json", o->json, "also write the numbers as JSON to this file");
    cmd->callback([o] { run_bench(*o); });
}

}  // namespace segcore::apps
