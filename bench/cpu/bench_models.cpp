// Forward + backward time per model on the CPU at a small input (batch 2, 3x128x160, f32,
// training mode, cross-entropy on random labels), for the Models issue's comparison with the same
// models in Debian's python3-torch (bench/torch/bench_models_torch.py, same specs, same input):
//
//   build/bench/bench_models --benchmark_min_time=2
//   /usr/bin/python3 bench/torch/bench_models_torch.py
//
// Counter: images/s. The specs are the registry's JSON, so this measures what `segcore train`
// would run.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "bench/common/bench_util.h"
#include "seg/models/registry.h"

using namespace segcore;

namespace {

constexpr int64_t kBatch = 2, kH = 128, kW = 160, kClasses = 11;

// Keep in sync with SPECS in bench/torch/bench_models_torch.py.
const char* kSpecs[] = {
    R"({"name": "unet", "num_classes": 11, "base_width": 32})",
    R"({"name": "fcn", "num_classes": 11, "backbone": "resnet50"})",
    R"({"name": "deeplabv3", "num_classes": 11, "backbone": "resnet50", "output_stride": 8})",
    R"({"name": "deeplabv3plus", "num_classes": 11, "backbone": "resnet50", "output_stride": 16})",
    R"({"name": "pspnet", "num_classes": 11, "backbone": "resnet50"})",
    R"({"name": "segnet", "num_classes": 11})",
    R"({"name": "enet", "num_classes": 11})",
    R"({"name": "fastsegnet", "num_classes": 11})",
};

void BM_model_forward_backward(benchmark::State& state) {
    const nlohmann::json spec = nlohmann::json::parse(kSpecs[state.range(0)]);
    const std::string name = spec["name"];
    state.SetLabel(name);
    bool known = false;
    for (const std::string& n : seg::model_names()) known = known || n == name;
    if (!known) {
        state.SkipWithError(("model not registered: " + name).c_str());
        return;
    }
    auto model = seg::build_model(spec);
    model->train();
    const autograd::Variable x(randn({kBatch, 3, kH, kW}));
    Generator gen(1);
    const Tensor labels = randint(0, kClasses, {kBatch, kH, kW}, {DType::I64}, &gen);
    for (auto _ : state) {
        model->zero_grad();
        const seg::SegOutput o = model->forward_seg(x);
        autograd::Variable loss = autograd::cross_entropy(o.out, labels);
        for (const auto& [n, aux] : o.aux) loss = autograd::add(loss, autograd::cross_entropy(aux, labels), 0.4);
        loss.backward();
    }
    state.counters["images/s"] = benchmark::Counter(double(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_model_forward_backward)->DenseRange(0, int(std::size(kSpecs)) - 1)->Unit(benchmark::kMillisecond)->UseRealTime();
