#pragma once
// The training config: one JSON document (after "base" includes and --set overrides, see
// config_file.h), strictly validated section by section. docs/config.md documents every key with
// its default; the parser below is the single source of truth for both (an unknown key is an
// error naming its JSON path and listing the keys that section reads).
//
//   {"name": "demo",
//    "model":  {"name": "unet", "base_width": 16, "depth": 2},     num_classes/in_channels from the dataset
//    "data":   {"dataset": "demo-data/dataset.json", "synth": {...}, "train_transforms": [...], ...},
//    "loss":   {"terms": [{"type": "cross_entropy"}, {"type": "dice", "weight": 0.5}], "aux_weight": 0.4},
//    "optimizer": {"type": "adamw", "lr": 0.003, "groups": [{"match": "^backbone\\.", "lr_mult": 0.1}]},
//    "scheduler": {"type": "poly", "power": 0.9, "warmup": {"iters": 50}},
//    "train":  {"epochs": 8, "batch_size": 8, "amp": "off", "seed": 0},
//    "eval":   {"interval": 1, "mode": "whole"},
//    "checkpoint": {"dir": "runs/demo", "keep_last": 2, "best_metric": "miou"},
//    "early_stopping": {"patience": 0},
//    "logging": {"progress": "auto"}}
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/synth.h"
#include "nn/optim/lr_scheduler.h"

namespace segcore::seg {

struct DataSection {
    std::string dataset;                         // spec file, absolute after parsing
    std::string root;                            // overrides the spec's root ("${VAR}" expanded); empty: keep
    std::optional<data::SynthOptions> synth;     // draw the dataset into dataset's folder when it is missing
    std::string train_split = "train", val_split = "val";
    nlohmann::json train_transforms, val_transforms;  // data/transforms.h pipelines
    int workers = 2;
    bool skip_bad_samples = false;
};

struct LossSection {
    nlohmann::json combined;                  // what CombinedLoss::from_json reads: terms, ignore_index
    double aux_weight = 0.4;                  // every auxiliary head, unless named in aux_weights
    std::map<std::string, double> aux_weights;
    double consistency_weight = 0;            // Siamese U-Net: weight of the feature-consistency term
    double consistency_strength = 0.2;        // photometric change between the two views
    std::string teacher;                      // model file whose logits feed "kd" terms (absolute)
};

struct GroupRule {
    std::string match;  // ECMAScript regex searched in the parameter name
    double lr_mult = 1.0;
    std::optional<double> weight_decay;
};

struct OptimizerSection {
    std::string type = "adamw";  // sgd | adam | adamw
    double lr = 1e-3, weight_decay = 0.0, momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    bool nesterov = false, amsgrad = false;
    std::vector<GroupRule> groups;
};

struct SchedulerSection {
    std::string type = "poly";  // poly | cosine | step | multistep | constant
    double power = 0.9, min_lr = 0.0, gamma = 0.1;
    int64_t step_size = 0;
    std::vector<int64_t> milestones;
    nn::Warmup warmup;
};

struct TrainSection {
    int64_t epochs = 0, iters = 0;  // exactly one is positive
    int64_t batch_size = 8, accumulate = 1;
    double clip_grad_norm = 0;  // 0: off
    std::string amp = "off";    // off | f16 | bf16
    uint64_t seed = 0;
    bool deterministic = true;
    std::string device = "auto";  // auto | cpu | cuda | cuda:N
    bool drop_last = true;
};

struct EvalSection {
    int64_t interval = 1;        // epochs (epoch mode) or iterations (iters mode); 0: only at the end
    nlohmann::json inference;    // seg/inference InferOptions: mode, crop, stride, flip, scales
    int64_t batch_size = 0;      // 0: the training batch size
    bool boundary_f1 = false;    // also report boundary F1 (costs a host pass per batch)
};

struct CheckpointSection {
    std::string dir;           // the run folder (absolute after parsing)
    int64_t keep_last = 2;     // trainer-state checkpoints kept (older ones are deleted)
    int64_t interval = 0;      // same unit as eval.interval; 0: at every evaluation
    std::string best_metric = "miou";
};

struct EarlyStoppingSection {
    int64_t patience = 0;  // evaluations without improvement before stopping; 0: off
    double min_delta = 0;
};

struct LoggingSection {
    std::string progress = "auto";  // auto | bar | lines | off
    int64_t interval = 10;          // iterations between progress lines / JSONL step records
    bool jsonl = true, csv = true;
};

struct TrainConfig {
    std::string name;
    nlohmann::json model;  // registry spec; num_classes / in_channels filled from the dataset
    std::string pretrained;  // optional safetensors state dict loaded into the model (absolute)
    DataSection data;
    LossSection loss;
    OptimizerSection optimizer;
    SchedulerSection scheduler;
    TrainSection train;
    EvalSection eval;
    CheckpointSection checkpoint;
    EarlyStoppingSection early_stopping;
    LoggingSection logging;
    nlohmann::json resolved;  // the whole document as given (after bases and overrides)
};

// Validates `config` (errors name the JSON path); relative paths resolve against base_dir (the
// config file's folder). `default_name` names the run when the config has no "name".
TrainConfig parse_train_config(const nlohmann::json& config, const std::string& base_dir,
                               const std::string& default_name = "run");

// The metrics best_metric / early stopping may name.
const std::vector<std::string>& selectable_metrics();

// "${VAR}" / "$VAR" expanded from the environment; an unset variable is an error naming `what`.
std::string expand_env(const std::string& s, const std::string& what);

}  // namespace segcore::seg
