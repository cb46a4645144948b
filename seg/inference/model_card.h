#pragma once
// ModelCard: what a best-model file says about itself beyond its weights, so `segcore eval`,
// `segcore predict` and the embedding runtime need nothing but the file. It lives in the
// safetensors "__metadata__" map (string -> string) next to "model" (the network's JSON spec,
// written by save_model_file). The keys, all strings (docs/inference.md#the-model-card):
//
//   "classes"         JSON array of class names                   ["sky", "building", ...]
//   "palette"         JSON array of [r, g, b], one per class      [[128,128,128], ...]
//   "ignore_index"    JSON integer, never a class index           "255"
//   "image_channels"  1 or 3: how images are read                 "3"
//   "preprocessing"   JSON array: the evaluation transform pipeline (data/transforms.h) applied to
//                     a raw image (f32 0..255 HWC) before inference, e.g. [{"type": "normalize", ...}]
//   "inference"       InferOptions as JSON (seg/inference/infer.h)  {"mode": "sliding", "crop": [512, 512]}
//   "dataset"         the absolute path of the dataset spec used in training; may be empty (plain text)
//   anything else     (metrics, config, config_hash, date, hyperparameters, ...) free-form strings
//                     the trainer adds; kept verbatim in `extra`.
//
// Missing keys get defaults, so a plain model file (only "model") works: classes "class0".."classK-1"
// (K from the model spec's num_classes), default_palette(K), ignore 255, 3 channels, no
// preprocessing (raw 0..255 values), whole-image inference. A malformed value is an error naming
// the file and the key.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset_spec.h"
#include "data/image_io.h"
#include "seg/inference/infer.h"

namespace segcore::seg {

struct ModelCard {
    std::vector<std::string> classes;
    data::Palette palette;
    int32_t ignore_index = 255;
    int image_channels = 3;
    nlohmann::json preprocessing = nlohmann::json::array();
    InferOptions inference;
    std::string dataset;
    std::map<std::string, std::string> extra;

    int64_t num_classes() const { return int64_t(classes.size()); }

    // Every field as metadata strings, `extra` included (a field wins over an extra entry of the
    // same key). An empty palette is written as default_palette(classes).
    std::map<std::string, std::string> to_metadata() const;

    // Reads the keys above from a model file's metadata; `file` names the source in errors. K for
    // the defaults comes from the "model" entry's num_classes; when both are present, "classes"
    // must have K names. "model" and "format" (save_model_file's own keys) are not kept in extra.
    static ModelCard from_metadata(const std::map<std::string, std::string>& md, const std::string& file);

    // The dataset half of a card, for the trainer: classes, palette (default_palette when the
    // spec has none), ignore index, image channels and the spec file's absolute path.
    static ModelCard from_dataset(const data::DatasetSpec& spec);
};

// The reserved metadata keys a ModelCard reads (what is not in `extra`).
const std::vector<std::string>& model_card_keys();

}  // namespace segcore::seg
