// `segcore eval MODEL.safetensors [--data SPEC] [--split val] [inference flags] [--out DIR]`: the
// metrics of a model file on a labelled split, through the same loop as the trainer's validation
// (seg/inference/evaluate.h). Everything but the dataset comes from the file's model card.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "apps/commands.h"
#include "apps/infer_flags.h"
#include "core/device.h"
#include "core/error.h"
#include "data/dataset_spec.h"
#include "seg/inference/evaluate.h"
#include "seg/inference/model_card.h"
#include "seg/models/model_file.h"
#include "seg/train/run_folder.h"

namespace segcore::apps {

void add_eval_command(CLI::App& app) {
    struct Options {
        std::string model, data, split = "val", device = "cpu", out;
        int64_t batch = 1;
        int workers = 2;
        double boundary_tolerance = 2.0;
        seg::InferOverrides infer;
        bool allow_nonfinite = false;
    };
    static Options o;
    auto* cmd =
        app.add_subcommand("eval", "Evaluate a model file on a labelled dataset split (mIoU, accuracy, boundary F1)");
    cmd->add_option("model", o.model, "model file (.safetensors written by segcore train)")->required();
    cmd->add_option("--data", o.data, "dataset spec (default: the one the model was trained on)");
    cmd->add_option("--split", o.split, "split to evaluate (default: val)");
    add_infer_flags(cmd, o.infer);
    add_allow_nonfinite_flag(cmd, o.allow_nonfinite);
    cmd->add_option("--batch", o.batch, "images per batch (default 1; > 1 needs images of one size)");
    cmd->add_option("--workers", o.workers, "loader threads (default 2)");
    cmd->add_option("--device", o.device, "cpu | cuda | cuda:N (default cpu)");
    cmd->add_option("--boundary-tolerance", o.boundary_tolerance,
                    "boundary F1 distance tolerance in pixels (default 2)");
    cmd->add_option("--out", o.out, "write confusion.csv, metrics.json and per_class.csv here");
    cmd->callback([] {
        const Device device = Device::parse(o.device);
        if (device.is_cuda()) require_cuda("segcore eval --device cuda");
        const seg::LoadedModel lm = seg::load_model_file(o.model, o.allow_nonfinite);
        const seg::ModelCard card = seg::ModelCard::from_metadata(lm.metadata, o.model);
        const std::string spec_path = o.data.empty() ? card.dataset : o.data;
        SEGCORE_CHECK(!spec_path.empty(), o.model, " does not name its dataset: give one with --data SPEC.json");
        std::fprintf(stderr, "%s", seg::missing_preprocessing_warning(card, o.model).c_str());
        data::DatasetSpec spec = data::load_dataset_spec(spec_path);
        // Images are read the way the model takes them (the card's image_channels), as predict does.
        spec.image_channels = card.image_channels;
        SEGCORE_CHECK(spec.num_classes() == lm.model->num_classes(), spec_path, " has ", spec.num_classes(),
                      " classes but the model in ", o.model, " predicts ", lm.model->num_classes());
        const seg::InferOptions opt = seg::apply_overrides(card.inference, o.infer);
        lm.model->to(device);

        std::printf("segcore eval: %s on %s [%s], %s, %s\n", o.model.c_str(), spec_path.c_str(), o.split.c_str(),
                    opt.str().c_str(), device.str().c_str());
        seg::EvalSettings es;
        es.batch_size = o.batch;
        es.num_workers = o.workers;
        es.device = device;
        es.boundary_tolerance = o.boundary_tolerance;
        if (isatty(fileno(stderr)))  // a counter redrawn in place; logs and pipes get none
            es.progress = [](int64_t done, int64_t total) {
                std::fprintf(stderr, "\r  %lld / %lld images", (long long)done, (long long)total);
                if (done == total) std::fprintf(stderr, "\n");
            };
        // One writer per output folder (docs/run_folders.md), taken before the long evaluation.
        std::unique_ptr<seg::RunFolderLock> out_lock;
        if (!o.out.empty()) {
            seg::create_folder(o.out, "--out");
            out_lock = std::make_unique<seg::RunFolderLock>(o.out, "segcore eval");
            seg::remove_stale_temp_files(o.out);  // left by a killed eval
        }
        const seg::EvalResult r = seg::evaluate_model(*lm.model, spec, o.split, card.preprocessing, opt, es);
        const std::vector<std::string>& names = spec.classes;
        std::printf("%s", seg::format_eval_report(r, names).c_str());
        std::printf("%lld images in %.1f s\n", (long long)r.images, r.seconds);
        if (!o.out.empty()) {
            const nlohmann::json info = {{"model", o.model},
                                         {"dataset", spec_path},
                                         {"split", o.split},
                                         {"inference", opt.to_json()},
                                         {"preprocessing", card.preprocessing},
                                         {"device", device.str()},
                                         {"batch", o.batch}};
            seg::write_eval_outputs(r, names, o.out, info);
            std::printf("written: %s/confusion.csv, metrics.json, per_class.csv\n", o.out.c_str());
        }
    });
}

}  // namespace segcore::apps
