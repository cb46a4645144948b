#pragma once
// Trainer: runs a TrainConfig on the CPU or one GPU — the loop behind `segcore train`.
//
// One iteration is one optimiser step over train.accumulate batches. An epoch is
// floor(batches / accumulate) iterations (a remainder of batches is left out, so accumulation
// never spans two epochs and every epoch has the same number of steps). The run ends after
// train.epochs epochs or train.iters iterations, at early stopping, at SIGINT/SIGTERM, or at a
// non-finite loss or gradient.
//
// Per step: forward_seg under autocast (train.amp), the combined loss on the main output plus
// aux_weight x the loss of each auxiliary head (plus the teacher's logits for "kd" terms, plus
// the Siamese consistency term on a photometrically changed second view), backward through the
// GradScaler, optional gradient clipping, optimiser and schedule step.
//
// Checkpoints (<dir>/checkpoints/iter_XXXXXXXX.safetensors, atomic writes, the last keep_last
// kept) hold everything the next step depends on: the model's parameters and buffers, the
// optimiser, schedule and scaler states, the default generator's offset (dropout), the epoch and
// the step within it (the loader restarts at that batch: same order, same augmentation draws),
// the running epoch statistics, the best metric and the early-stopping counter, and the
// resolved config with its hash. So N steps + resume + N steps == 2N steps bit for bit on the
// CPU (tests/train/test_trainer.cpp proves it).
//
// The run folder is locked while a trainer lives (a second one refuses it); at start, temp files
// of dead processes are removed and the logs are cut back to the iteration the run continues
// from; a checkpoint's trainer state is validated before it is trusted; an error in the loop
// saves the iterations done since the last checkpoint before it propagates
// (seg/train/run_folder.h, docs/run_folders.md).
//
// The best model (by checkpoint.best_metric) is <dir>/best_model.safetensors: a model file
// (seg/models/model_file.h) whose metadata is the model card of seg/inference/model_card.h
// (classes, palette, preprocessing, inference options) plus the metrics, the config, its hash,
// the date and the hyper-parameters — `segcore eval` and `predict` need nothing else.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "data/loader.h"
#include "data/dataset_spec.h"
#include "seg/metrics/metrics.h"
#include "seg/models/model.h"
#include "seg/train/train_config.h"

namespace segcore::seg {

struct TrainerOptions {
    std::string resume;         // "" (fresh run; refuses a run folder that has checkpoints), "auto"
                                // (the newest checkpoint of the run folder, or fresh), or a file
    bool handle_signals = true; // SIGINT / SIGTERM: finish the step, checkpoint, stop
    bool quiet = false;         // no console output (tests)
    bool check_only = false;    // `train --check`: validate everything, write nothing (no lock, no
                                // files; a missing synthetic dataset is drawn into a temp folder)
};

struct ValResult {
    SegMetrics metrics;
    double boundary_f1 = std::nan("");
    double seconds = 0;
};

struct TrainResult {
    std::string stop_reason;  // "finished", "early_stopping", "interrupted"
    int signal = 0;           // SIGINT / SIGTERM when one interrupted the run
    int64_t iters = 0, epochs_completed = 0;
    double best_value = 0;    // of checkpoint.best_metric (NaN when never evaluated)
    int64_t best_iter = -1;
    ValResult last_val;       // the last evaluation
    double final_train_loss = 0;  // mean loss of the last (possibly partial) epoch
    std::string best_model, last_checkpoint;
    double seconds = 0, images_per_s = 0;
};

class Trainer {
public:
    Trainer(TrainConfig cfg, TrainerOptions opt = {});
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    TrainResult fit();
    // Stop after the current step with a checkpoint (what SIGINT does); thread- and signal-safe.
    void request_stop() { stop_requested_.store(true); }
    // Evaluates the model on the validation split (eval settings of the config).
    ValResult validate();
    // Writes a trainer-state checkpoint now; returns its path.
    std::string save_checkpoint();
    // `train --check`: one training batch through the forward pass and the loss, and one
    // validation batch through inference, without a step (nothing learns, nothing is written).
    void dry_run();

    SegModel& model() { return *model_; }
    const TrainConfig& config() const { return cfg_; }
    const data::DatasetSpec& dataset() const { return spec_; }
    Device device() const { return device_; }
    int64_t iteration() const { return iter_; }
    int64_t total_iters() const { return total_iters_; }
    int64_t iters_per_epoch() const { return iters_per_epoch_; }
    const std::string& run_dir() const { return cfg_.checkpoint.dir; }
    std::string config_hash() const;

    // Called after every optimiser step (tests: interrupt, poison a weight, inspect).
    std::function<void(Trainer&)> after_step;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    TrainConfig cfg_;
    TrainerOptions opt_;
    data::DatasetSpec spec_;
    Device device_;
    std::shared_ptr<SegModel> model_;
    int64_t iter_ = 0, total_iters_ = 0, iters_per_epoch_ = 0;
    std::atomic<bool> stop_requested_{false};

    void load_checkpoint(const std::string& path);
    void train_step();
    Variable batch_loss(const data::Batch& b, std::map<std::string, double>& terms, double divisor);
    void check_against_dataset(const nlohmann::json& mspec);
    void validate_trainer_state(const std::string& who, bool same_config);
    std::string save_after_failure();
    void end_of_evaluation(const ValResult& v, double seconds);
    void save_best_model(const ValResult& v);
    [[noreturn]] void fail_nonfinite(const std::string& what);
};

// The newest checkpoint of a run folder ("" when there is none).
std::string latest_checkpoint(const std::string& run_dir);

// Picks the metric checkpoint.best_metric names from a SegMetrics.
double metric_value(const SegMetrics& m, const std::string& name);

}  // namespace segcore::seg
