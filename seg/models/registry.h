#pragma once
// Builds any model of the zoo from JSON, strictly validated (docs/models.md lists every key):
//
//   {"name": "unet", "num_classes": 11, "base_width": 32, "depth": 4, "bilinear": false}
//   {"name": "deeplabv3plus", "backbone": "resnet50", "num_classes": 19, "output_stride": 16}
//
// Every model takes "name", "num_classes" (required) and "in_channels" (default 3); the rest are
// its own. An unknown name, an unknown key or a bad value is an error naming the JSON path and
// listing what is allowed. Adding a model is one entry in the table of registry.cpp.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_reader.h"
#include "seg/models/model.h"

namespace segcore::seg {

// Reads the model's own keys from `r` (num_classes and in_channels are read already) and builds it.
using ModelBuilder = std::function<std::shared_ptr<SegModel>(JsonReader& r, int64_t num_classes, int64_t in_channels)>;

struct ModelEntry {
    std::string name;
    std::string summary;  // one line for listings
    ModelBuilder build;
};

const std::vector<ModelEntry>& model_registry();
std::vector<std::string> model_names();

// `path` prefixes error messages ("model.output_stride: ...").
std::shared_ptr<SegModel> build_model(const nlohmann::json& spec, const std::string& path = "model");

}  // namespace segcore::seg
