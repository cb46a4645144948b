#pragma once
// A tiny training config for the trainer suites: a small synthetic dataset (drawn once per
// folder), a small model, a few iterations — seconds on 2 CPU cores.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "../data/data_test_util.h"
#include "seg/train/train_config.h"

namespace segcore::test {

// The synthetic dataset lives in <dir>/data (drawn by the trainer on first use), the run in
// <dir>/<run>.
inline nlohmann::json tiny_config(const std::string& dir, const std::string& run = "run") {
    using json = nlohmann::json;
    return json{
        {"name", "tiny"},
        {"model", {{"name", "unet"}, {"base_width", 8}, {"depth", 2}, {"bilinear", true}}},
        {"data",
         {{"dataset", dir + "/data/dataset.json"},
          {"synth", {{"train", 10}, {"val", 4}, {"height", 40}, {"width", 48}, {"classes", 4}, {"seed", 3}}},
          {"train_transforms", json::array({{{"type", "hflip"}, {"p", 0.5}},
                                             {{"type", "normalize"}, {"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}}})},
          {"val_transforms",
           json::array({{{"type", "normalize"}, {"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}}})},
          {"workers", 1}}},
        {"optimizer", {{"type", "adamw"}, {"lr", 0.01}}},
        {"scheduler", {{"type", "poly"}, {"warmup", {{"iters", 2}}}}},
        {"train", {{"iters", 6}, {"batch_size", 3}, {"seed", 1}}},
        {"eval", {{"interval", 3}}},
        {"checkpoint", {{"dir", dir + "/" + run}, {"keep_last", 2}}},
        {"logging", {{"progress", "off"}}}};
}

inline seg::TrainConfig parse(const nlohmann::json& j) { return seg::parse_train_config(j, "/", "tiny"); }

}  // namespace segcore::test
