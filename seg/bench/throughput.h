#pragma once
// Model throughput (`segcore bench`): how many images per second a model trains and infers on a
// device, on random inputs, so models, devices, precisions and PyTorch can be compared by number.
//
//   train step  zero_grad; forward_seg; cross-entropy on out (+ 0.4 x each auxiliary head's, as
//               the trainers of torchvision do); backward; SGD step (momentum 0.9). With f16
//               autocast the loss is scaled by a GradScaler, as a real f16 run needs.
//   infer       eval mode, no graph (NoGradGuard), forward_seg(x).out.
//
// Inputs are N(0, 1) images (N, C_in, H, W) and labels uniform in [0, num_classes), drawn once
// on the device before timing, so neither data loading nor host-to-device copies are measured.
// Each timed iteration is wall time (steady_clock) from a synchronised device to a synchronised
// device: on CUDA the current stream is synchronised before and after, so queued kernels count.
// Medians are the headline (this is meant to run on shared, noisy machines); means and extremes
// are reported too. images/s = batch / median time.
//
// GFLOP/s (infer only): the forward FLOPs of seg/models/summary.h (2 per multiply-add of
// convolutions and linear layers, ...; its header has the rules) of the layers that actually run
// in eval mode — auxiliary heads run only in training, so they are left out — per image, times the
// batch, over the median time.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/device.h"
#include "core/dtype.h"
#include "seg/models/model.h"

namespace segcore::seg {

// The model `segcore bench MODEL` names.
struct BenchModel {
    std::shared_ptr<SegModel> model;
    nlohmann::json spec;       // what build_model was given
    int64_t in_channels = 3;   // from the spec ("in_channels", default 3)
};

// `arg` is, in the order tried:
//   a path ending in .safetensors  a self-describing model file (seg/models/model_file.h);
//   an existing file               JSON: a model spec, or a training config with a "model" section
//                                  (which may leave num_classes to its dataset: then `default_classes`);
//   text starting with '{'         an inline model spec: '{"name": "enet", "num_classes": 11}';
//   anything else                  a registered model name ("enet"), built with `default_classes`.
// Errors name `arg` (an unknown name also lists the registered ones).
BenchModel load_bench_model(const std::string& arg, int64_t default_classes = 11);

struct ThroughputOptions {
    int64_t batch = 4;
    int64_t height = 360, width = 480;  // CamVid's frame size
    int64_t in_channels = 3;
    Device device = Device::cpu();
    DType amp = DType::F32;  // F32: no autocast; BF16 or F16: autocast to that dtype (F16 adds loss scaling)
    bool train = true, infer = true;
    int64_t warmup = 2;  // untimed iterations per mode (allocator caches, cuDNN autotune, page faults)
    int64_t iters = 10;  // timed iterations per mode
    double lr = 0.01;    // SGD learning rate; momentum is 0.9
    uint64_t seed = 0;   // inputs and labels
};

// "off" -> F32, "bf16" -> BF16, "f16" -> F16; errors name the string.
DType parse_bench_amp(const std::string& s);

struct PhaseStats {
    std::vector<double> ms;  // every timed iteration, in order; empty when the mode did not run
    double median_ms = 0, mean_ms = 0, min_ms = 0, max_ms = 0;
    double images_per_s = 0;  // batch / median
    double gflops_per_s = 0;  // infer: forward FLOPs of the batch / median; 0 for train
    bool ran() const { return !ms.empty(); }
};

struct ThroughputResult {
    std::string model;         // the model's type name
    int64_t params = 0;
    double forward_flops = 0;  // per image, eval-mode layers; 0 when infer did not run
    ThroughputOptions options;
    int threads = 0;           // segcore's CPU pool size during the run
    PhaseStats train, infer;
};

// Moves `model` to options.device, times the requested modes (train first, then infer) and
// restores the model's train/eval flag. The train step updates the model's weights and its
// batch-norm statistics: bench a copy if they matter.
ThroughputResult measure_throughput(SegModel& model, const ThroughputOptions& options);

// The result as a small table with a header line (what `segcore bench` prints).
std::string format_throughput(const ThroughputResult& r);
// The result as JSON (what `segcore bench --json` writes): settings, and per mode the statistics
// and every iteration's time.
nlohmann::json throughput_json(const ThroughputResult& r);

}  // namespace segcore::seg
