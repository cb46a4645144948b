// `segcore synth <out_dir>`: writes the procedural segmentation dataset of data/synth.h (PNG images,
// index-mask PNGs and dataset.json), the offline default for the demo and the tests.
#include <chrono>
#include <cstdio>
#include <string>

#include "apps/commands.h"
#include "data/synth.h"

namespace segcore::apps {

void add_synth_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("synth", "Write a procedural segmentation dataset (shapes on textured backgrounds)");
    auto out = std::make_shared<std::string>();
    auto opt = std::make_shared<data::SynthOptions>();
    cmd->add_option("out_dir", *out, "Folder to write (dataset.json, train/, val/)")->required();
    cmd->add_option("--train", opt->train, "Training scenes")->capture_default_str();
    cmd->add_option("--val", opt->val, "Validation scenes")->capture_default_str();
    cmd->add_option("--height", opt->height, "Image height")->capture_default_str();
    cmd->add_option("--width", opt->width, "Image width")->capture_default_str();
    cmd->add_option("--classes", opt->classes, "Classes: 2 backgrounds + up to 8 shape kinds (3..10)")
        ->capture_default_str();
    cmd->add_option("--seed", opt->seed, "Random seed (same seed, same dataset)")->capture_default_str();
    cmd->add_option("--noise", opt->noise_std, "Pixel noise standard deviation (0-255 scale)")->capture_default_str();
    cmd->callback([out, opt] {
        const auto t0 = std::chrono::steady_clock::now();
        const data::DatasetSpec spec = data::write_synth_dataset(*out, *opt);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf(
            "segcore synth: %lld train + %lld val scenes of %lldx%lld, %lld classes, seed %llu -> %s/dataset.json "
            "(%.2f s)\n",
            (long long)opt->train, (long long)opt->val, (long long)opt->height, (long long)opt->width,
            (long long)spec.num_classes(), (unsigned long long)opt->seed, out->c_str(), s);
    });
}

}  // namespace segcore::apps
