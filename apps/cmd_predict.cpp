// `segcore predict MODEL.safetensors INPUT... [--out DIR] [--entropy] [--masks DIR] [--alpha A]
// [--skip-bad] [--save-logits] [--save-probs] [inference flags]`: class maps, colour masks and overlays for images,
// from the model file alone (seg/inference/predict.h lists the files written).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "apps/infer_flags.h"
#include "core/device.h"
#include "core/error.h"
#include "seg/inference/model_card.h"
#include "seg/inference/predict.h"
#include "seg/models/model_file.h"
#include "seg/train/run_folder.h"

namespace segcore::apps {

void add_predict_command(CLI::App& app) {
    struct Options {
        std::string model, device = "cpu";
        std::vector<std::string> inputs;
        seg::PredictOptions predict;
        seg::InferOverrides infer;
        bool allow_nonfinite = false;
    };
    static Options o;
    auto* cmd = app.add_subcommand(
        "predict",
        "Segment images with a model file: index, colour, overlay (+ entropy, error) PNGs, optionally .npy arrays");
    cmd->add_option("model", o.model, "model file (.safetensors written by segcore train)")->required();
    cmd->add_option("inputs", o.inputs, "images, .txt lists of image paths, or folders of images")->required();
    cmd->add_option("--out", o.predict.out_dir, "output folder (default: predictions)");
    cmd->add_flag("--entropy", o.predict.entropy, "also write <stem>_entropy.png (per-pixel uncertainty)");
    cmd->add_option("--masks", o.predict.masks_dir,
                    "ground-truth folder (<stem>.png or <stem>_L.png): writes <stem>_error.png, prints pixel accuracy");
    cmd->add_option("--alpha", o.predict.alpha, "overlay opacity of the class colours, 0..1 (default 0.5)");
    cmd->add_option("--device", o.device, "cpu | cuda | cuda:N (default cpu)");
    cmd->add_flag("--skip-bad", o.predict.skip_bad,
                  "report an image that cannot be read or predicted (unreadable, too small, bad mask) and go on");
    cmd->add_flag("--save-logits", o.predict.save_logits,
                  "also write <stem>_logits.npy: (K, H, W) float32 logits at the image's size (numpy.load; "
                  "not with --flip or --scales, which average probabilities)");
    cmd->add_flag("--save-probs", o.predict.save_probs,
                  "also write <stem>_probs.npy: (K, H, W) float32 class probabilities at the image's size (softmax, "
                  "or the average over --flip / --scales variants)");
    add_infer_flags(cmd, o.infer);
    add_allow_nonfinite_flag(cmd, o.allow_nonfinite);
    cmd->callback([] {
        const Device device = Device::parse(o.device);
        if (device.is_cuda()) require_cuda("segcore predict --device cuda");
        const seg::LoadedModel lm = seg::load_model_file(o.model, o.allow_nonfinite);
        const seg::ModelCard card = seg::ModelCard::from_metadata(lm.metadata, o.model);
        std::fprintf(stderr, "%s", seg::missing_preprocessing_warning(card, o.model).c_str());
        const seg::InferOptions opt = seg::apply_overrides(card.inference, o.infer);
        const std::vector<std::string> images = seg::expand_inputs(o.inputs);
        lm.model->to(device);
        const seg::Predictor predictor(*lm.model, card, opt, device);
        seg::create_folder(o.predict.out_dir, "--out");  // one writer per output folder (docs/run_folders.md)
        const seg::RunFolderLock out_lock(o.predict.out_dir, "segcore predict");
        seg::remove_stale_temp_files(o.predict.out_dir);  // left by a killed predict
        std::printf("segcore predict: %s, %zu image(s), %s, %s -> %s/\n", o.model.c_str(), images.size(),
                    opt.str().c_str(), device.str().c_str(), o.predict.out_dir.c_str());
        int64_t correct = 0, counted = 0, skipped = 0;
        const auto report = [&](const seg::PredictedFile& f) {
            if (!f.error.empty()) {
                std::fflush(stdout);
                std::fprintf(stderr, "  skipped %s: %s\n", f.image.c_str(), f.error.c_str());
                ++skipped;
                return;
            }
            std::printf("  %s -> %s_*.%s", f.image.c_str(), f.stem.c_str(),
                        o.predict.save_logits || o.predict.save_probs ? "{png,npy}" : "png");
            if (!o.predict.masks_dir.empty()) {
                if (f.truth.empty())
                    std::printf("  (no mask in %s)", o.predict.masks_dir.c_str());
                else if (std::isnan(f.pixel_accuracy))
                    std::printf("  pixel accuracy - (every pixel ignored)");
                else
                    std::printf("  pixel accuracy %.2f%%", 100.0 * f.pixel_accuracy);
            }
            std::printf("\n");
            correct += f.correct;
            counted += f.counted;
        };
        seg::predict_files(predictor, images, o.predict, report);
        if (counted > 0)
            std::printf("pixel accuracy over all images with masks: %.2f%%\n",
                        100.0 * double(correct) / double(counted));
        std::printf("outputs written to %s/\n", o.predict.out_dir.c_str());
        if (skipped > 0) {
            std::printf("%lld of %zu image(s) skipped (listed above)\n", (long long)skipped, images.size());
            // Some outputs are still worth having; none at all is a failed run.
            SEGCORE_CHECK(size_t(skipped) < images.size(), "predict: every image was skipped");
        }
    });
}

}  // namespace segcore::apps
