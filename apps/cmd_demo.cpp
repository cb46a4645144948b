// `segcore demo`: the main job until `segcore train` lands — a real, small training run that works
// offline. It draws a synthetic segmentation dataset (textured backgrounds, occluding shapes,
// lighting and noise, written as PNG images and index masks with a dataset spec), trains a
// U-Net-like network on it with the threaded loader, Adam and a per-pixel cross-entropy, reports
// training loss, validation pixel accuracy and mIoU after every epoch, and saves the model.
//
// Everything it touches is the production path: data/ (synth, spec, loader, transforms), nn/
// (Conv2d, BatchNorm2d with fused ReLU, module state), autograd (conv, BN, bilinear up-sampling,
// concat, the fused softmax cross-entropy), nn/optim (Adam), seg/metrics (fused argmax +
// confusion matrix), safetensors.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "core/device.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/synth.h"
#include "data/transforms.h"
#include "kernels/ops.h"
#include "nn/grad_scaler.h"
#include "nn/layers.h"
#include "nn/optim/adam.h"
#include "seg/metrics/metrics.h"

namespace segcore::apps {

namespace {

namespace F = segcore::autograd;
using autograd::Variable;

struct DemoOptions {
    std::string out = "demo-run";
    std::string device = "cpu";
    int64_t epochs = 6, batch = 8, width = 16;
    double lr = 3e-3;
    uint64_t seed = 0;
    std::string amp = "off";  // off, bf16, f16 (f16 adds dynamic loss scaling)
};

// Conv3x3 -> BN -> ReLU (the fused BN+ReLU kernel).
std::shared_ptr<nn::Sequential> conv_bn_relu(int64_t in, int64_t out, int64_t stride = 1, int64_t dilation = 1) {
    return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::Conv2d>(in, out, 3,
                                     nn::Conv2dConfig{.stride = stride, .padding = dilation, .dilation = dilation,
                                                      .bias = false}),
        std::make_shared<nn::BatchNorm2d>(out, nn::BatchNormConfig{.act = kernels::Act::Relu})});
}

// A two-level U-Net: full-resolution features, a stride-2 stage with an atrous conv for context,
// bilinear up-sampling, a skip connection, and a 1x1 classifier.
class DemoNet : public nn::Module {
public:
    DemoNet(int64_t classes, int64_t w) : Module("DemoNet") {
        enc1 = register_module("enc1", conv_bn_relu(3, w));
        enc2 = register_module("enc2", conv_bn_relu(w, 2 * w, 2));
        context = register_module("context", conv_bn_relu(2 * w, 2 * w, 1, 2));
        dec = register_module("dec", conv_bn_relu(3 * w, w));
        head = register_module("head", std::make_shared<nn::Conv2d>(w, classes, 1));
    }
    Variable forward(const Variable& x) override {
        const Variable s1 = (*enc1)(x);
        const Variable s2 = (*context)((*enc2)(s1));
        const Variable up = F::interpolate(s2, ops::InterpolateOptions::size(s1.size(2), s1.size(3)));
        return (*head)((*dec)(F::concat({up, s1}, 1)));
    }
    std::shared_ptr<nn::Sequential> enc1, enc2, context, dec;
    std::shared_ptr<nn::Conv2d> head;
};

// Validation pixel accuracy and mIoU through the fused argmax + confusion-matrix kernel.
seg::SegMetrics evaluate(nn::Module& net, data::Loader& val, int64_t classes, int32_t ignore, Device device) {
    autograd::NoGradGuard no_grad;
    net.eval();
    seg::MetricAccumulator acc(classes, ignore, device);
    val.start_epoch(0);
    data::Batch b;
    while (val.next(b)) acc.update(net(Variable(b.images)).data(), b.labels);
    net.train();
    return acc.compute();
}

void run_demo(const DemoOptions& o) {
    const Device device = Device::parse(o.device);
    if (device.is_cuda()) require_cuda("segcore demo --device cuda");
    manual_seed(o.seed);
    namespace fs = std::filesystem;
    const std::string data_dir = (fs::path(o.out) / "data").string();
    data::SynthOptions so;
    so.seed = o.seed;
    if (!fs::exists(fs::path(data_dir) / "dataset.json")) {
        std::printf("segcore demo: drawing %lld + %lld synthetic scenes of %lld x %lld into %s\n",
                    (long long)so.train, (long long)so.val, (long long)so.height, (long long)so.width,
                    data_dir.c_str());
        data::write_synth_dataset(data_dir, so);
    }
    const data::DatasetSpec spec = data::load_dataset_spec((fs::path(data_dir) / "dataset.json").string());
    const int64_t classes = spec.num_classes();
    const int32_t ignore = spec.ignore_index;

    // Light augmentation for training (flip), the same normalisation for both splits.
    const nlohmann::json norm = {{"type", "normalize"}, {"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}};
    data::LoaderOptions lo;
    lo.batch_size = o.batch;
    lo.seed = o.seed;
    lo.device = device;
    data::Loader train(data::open_dataset(spec, "train"),
                       data::Compose::from_json(nlohmann::json::array({{{"type", "hflip"}, {"p", 0.5}}, norm})), lo);
    lo.shuffle = false;
    data::Loader val(data::open_dataset(spec, "val"), data::Compose::from_json(nlohmann::json::array({norm})), lo);

    DemoNet net(classes, o.width);
    net.to(device);
    nn::AdamOptions ao;
    ao.lr = o.lr;
    nn::Adam opt(net.parameters(), ao);
    std::printf("segcore demo: %s, %lld parameters, %lld classes, batch %lld, Adam lr %g, on %s, amp %s\n",
                net.type_name().c_str(), (long long)net.num_parameters(), (long long)classes, (long long)o.batch, o.lr,
                device.str().c_str(), o.amp.c_str());

    ops::CrossEntropyOptions ce;
    ce.ignore_index = ignore;
    SEGCORE_CHECK(o.amp == "off" || o.amp == "bf16" || o.amp == "f16", "segcore demo: --amp must be off, bf16 or f16, got '",
                  o.amp, "'");
    const DType amp_dtype = o.amp == "f16" ? DType::F16 : DType::BF16;  // unused when off
    nn::GradScalerOptions gso;
    gso.enabled = o.amp == "f16";
    nn::GradScaler scaler(gso);
    const seg::SegMetrics before = evaluate(net, val, classes, ignore, device);
    std::printf("  %-6s %10s %10s %10s %9s\n", "epoch", "train loss", "pixel acc", "mIoU", "time");
    std::printf("  %-6s %10s %9.1f%% %9.1f%%\n", "0", "-", 100 * before.pixel_accuracy, 100 * before.miou);
    seg::SegMetrics after = before;
    for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
        const auto t0 = std::chrono::steady_clock::now();
        train.start_epoch(epoch);
        data::Batch b;
        double loss_sum = 0;
        int64_t steps = 0;
        while (train.next(b)) {
            Variable loss;
            {
                // Mixed precision: convolutions in bf16/f16, the loss and BN statistics in f32.
                F::AutocastGuard ac(amp_dtype, /*enabled=*/o.amp != "off");
                loss = F::cross_entropy(net(Variable(b.images)), b.labels, ce);  // fused, f32
            }
            opt.zero_grad();
            scaler.scale(loss).backward();  // scaling is a no-op unless f16
            scaler.step(opt);               // skipped on the device if an f16 gradient overflowed
            scaler.update();
            loss_sum += loss.item();
            ++steps;
        }
        after = evaluate(net, val, classes, ignore, device);
        const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("  %-6lld %10.4f %9.1f%% %9.1f%% %8.1fs\n", (long long)epoch, loss_sum / double(std::max<int64_t>(1, steps)),
                    100 * after.pixel_accuracy, 100 * after.miou, sec);
    }
    std::printf("%s", seg::format_class_table(after, spec.classes).c_str());
    const std::string model = (fs::path(o.out) / "demo_model.safetensors").string();
    nn::save_module(net, model, {{"architecture", "DemoNet"}, {"classes", std::to_string(classes)},
                                 {"miou", std::to_string(after.miou)}});
    std::printf("segcore demo: saved %s (mIoU %.1f%% -> %.1f%%)\n", model.c_str(), 100 * before.miou, 100 * after.miou);
    SEGCORE_CHECK(after.miou > before.miou, "segcore demo: training did not improve validation mIoU (",
                  before.miou, " -> ", after.miou, ")");
}

}  // namespace

void add_demo_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("demo", "Train a small U-Net on synthetic scenes (offline), report loss, pixel "
                                           "accuracy and mIoU per epoch, and save the model");
    auto o = std::make_shared<DemoOptions>();
    cmd->add_option("--out", o->out, "folder for the synthetic data and the model")->capture_default_str();
    cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--epochs", o->epochs, "training epochs")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--batch", o->batch, "batch size")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--width", o->width, "channels of the first stage")->capture_default_str()->check(CLI::PositiveNumber);
    cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str();
    cmd->add_option("--seed", o->seed, "seed for the data and the weights")->capture_default_str();
    cmd->add_option("--amp", o->amp, "mixed precision: off, bf16, or f16 (with dynamic loss scaling)")
        ->capture_default_str()
        ->check(CLI::IsMember({"off", "bf16", "f16"}));
    cmd->callback([o] { run_demo(*o); });
}

}  // namespace segcore::apps
