#pragma once
// A self-describing model file: the weights as safetensors (torchvision-compatible names) with the
// model's JSON spec in the "__metadata__" entry "model", so `segcore info`, `predict` and the
// embedding runtime can rebuild the network from the file alone. Other metadata (classes,
// palette, preprocessing, metrics, the training config) travels in the same map.
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "seg/models/model.h"

namespace segcore::seg {

struct LoadedModel {
    std::shared_ptr<SegModel> model;
    nlohmann::json spec;                          // what build_model was given
    std::map<std::string, std::string> metadata;  // everything in the file's __metadata__
};

// Atomic write (a crash never leaves a half-written file under `path`).
void save_model_file(const SegModel& model, const nlohmann::json& spec, const std::string& path,
                     std::map<std::string, std::string> metadata = {});

// Builds the model from the "model" metadata and loads every tensor strictly (names, shapes and
// dtypes must match; nn::Module::load_state_dict); errors name the file. NaN/Inf weights are an
// error naming the tensor unless allow_nonfinite (the CLI's --allow-nonfinite).
LoadedModel load_model_file(const std::string& path, bool allow_nonfinite = false);

}  // namespace segcore::seg
