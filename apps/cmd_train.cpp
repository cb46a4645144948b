// `segcore train CONFIG.json`: trains a model from one config file (seg/train/train_config.h,
// docs/config.md) and leaves the run folder behind: config.json + config.hash, log.jsonl,
// metrics.csv, checkpoints/ (trainer state, for --resume) and best_model.safetensors (for eval,
// predict and the inference runtime). The run folder is locked while it runs; --check writes
// nothing (docs/run_folders.md).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "core/error.h"
#include "seg/metrics/metrics.h"
#include "seg/train/config_file.h"
#include "seg/train/run_folder.h"
#include "seg/train/trainer.h"

namespace segcore::apps {

namespace {

namespace fs = std::filesystem;

struct TrainOptions {
    std::string config;
    std::vector<std::string> sets;
    std::string resume, out, device;
    bool print_config = false, check = false;
};

void run_train(const TrainOptions& o) {
    nlohmann::json doc = seg::load_config_file(o.config);
    for (const std::string& s : o.sets) seg::apply_config_override(doc, s);
    seg::absolutize_config_paths(doc, fs::current_path().string());  // paths given with --set
    // Command-line conveniences are overrides too, so the saved config says what really ran.
    if (!o.out.empty()) seg::apply_config_override(doc, "checkpoint.dir=" + nlohmann::json(fs::absolute(o.out).string()).dump());
    if (!o.device.empty()) seg::apply_config_override(doc, "train.device=" + nlohmann::json(o.device).dump());
    const std::string base_dir = fs::absolute(o.config).parent_path().string();
    const seg::TrainConfig cfg = seg::parse_train_config(doc, base_dir, fs::path(o.config).stem().string());
    if (o.print_config) {
        std::printf("%s\n", doc.dump(2).c_str());
        return;
    }
    seg::TrainerOptions topt;
    topt.resume = o.resume;
    topt.check_only = o.check;
    seg::Trainer trainer(cfg, topt);
    if (o.check) {
        trainer.dry_run();
        std::printf("segcore train: %s is valid (config %s): %lld iterations of %lld per epoch, run folder %s\n",
                    o.config.c_str(), trainer.config_hash().c_str(), (long long)trainer.total_iters(),
                    (long long)trainer.iters_per_epoch(), trainer.run_dir().c_str());
        if (const std::string who = seg::RunFolderLock::holder(trainer.run_dir()); !who.empty())
            std::fprintf(stderr, "segcore train: warning: the run folder is in use now (%s): a run would refuse it\n",
                         who.c_str());
        return;
    }
    const seg::TrainResult r = trainer.fit();
    if (r.stop_reason == "interrupted") throw ExitStatus{128 + (r.signal ? r.signal : SIGINT)};
    if (r.last_val.metrics.num_classes > 0)  // validated in this session
        std::printf("%s", seg::format_class_table(r.last_val.metrics, trainer.dataset().classes).c_str());
    std::printf("segcore train: %s after %lld iterations in %.1f s (%.1f images/s); best %s %.2f%% at iteration %lld\n",
                r.stop_reason.c_str(), (long long)r.iters, r.seconds, r.images_per_s,
                cfg.checkpoint.best_metric.c_str(), 100 * r.best_value, (long long)r.best_iter);
    std::printf("  best model  %s\n  checkpoint  %s\n  logs        %s/log.jsonl, %s/metrics.csv\n", r.best_model.c_str(),
                r.last_checkpoint.c_str(), trainer.run_dir().c_str(), trainer.run_dir().c_str());
}

}  // namespace

void add_train_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("train", "Train a segmentation model from a JSON config (docs/config.md)");
    auto o = std::make_shared<TrainOptions>();
    cmd->add_option("config", o->config, "training config (JSON; \"base\" includes allowed)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--set", o->sets,
                    "override a config value, e.g. --set train.batch_size=4 --set model.name=unet (repeatable; "
                    "the value is JSON when it parses, else a string)");
    cmd->add_option("--resume", o->resume,
                    "continue from a checkpoint: 'auto' = the newest in the run folder (or start fresh), or a "
                    "checkpoint file");
    cmd->add_option("--out", o->out, "run folder (same as --set checkpoint.dir=DIR)");
    cmd->add_option("--device", o->device, "auto, cpu, cuda or cuda:N (same as --set train.device=...)");
    cmd->add_flag("--print-config", o->print_config, "print the resolved config (bases and overrides applied) and exit");
    cmd->add_flag("--check", o->check,
                  "validate the config, open the data, build the model, run one batch through the loss and one "
                  "through inference, then exit; writes nothing (docs/config.md)");
    cmd->footer(
        "Writes into the run folder: config.json and config.hash, log.jsonl, metrics.csv, checkpoints/ and "
        "best_model.safetensors; one process at a time (docs/run_folders.md). Exit status: 0 done (also after "
        "early stopping), 1 error, 130 interrupted by SIGINT, 143 by SIGTERM (a checkpoint was saved first; "
        "continue with --resume auto).");
    cmd->callback([o] { run_train(*o); });
}

}  // namespace segcore::apps
