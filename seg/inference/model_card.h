#pragma once
// ModelCard: what a best-model file says about itself beyond its weights, so `segcore eval`,
// `segcore predict` and the embedding runtime need nothing but the file. It lives in the
// safetensors "__metadata__" map (string -> string) next to "model" (the network's JSON spec,
// written by save_model_file). The keys, all strings (docs/inference.md#the-model-card):
//
//   "classes"         JSON array of class names                   ["sky", "building", ...]
//   "palette"         JSON array of [r, g, b], one per class      [[128,128,128], ...]
//   "ignore_index"    JSON integer, never a class index           "255"
//   "image_channels"  1 or 3: how images are read, in eval as in    "3"
//                     predict; must equal the model's in_channels
//   "preprocessing"   JSON array: the evaluation transform pipeline (data/transforms.h) applied to
//                     a raw image (f32 0..255 HWC) before inference, e.g. [{"type": "normalize", ...}]
//   "inference"       InferOptions as JSON (seg/inference/infer.h)  {"mode": "sliding", "crop": [512, 512]}
//   "dataset"         the absolute path of the dataset spec used in training; may be empty (plain text)
//   anything else     (metrics, config, config_hash, date, hyperparameters, ...) free-form strings
//                     the trainer adds; kept verbatim in `extra`.
//
// Missing keys get defaults, so a plain model file (only "model") works: classes "class0".."classK-1"
// (K from the model spec's num_classes), default_palette(K), ignore 255, the model's in_channels
// (default 3), no preprocessing (raw 0..255 values), whole-image inference. A malformed value is an
// error naming the file and the key. A file without "preprocessing" is most likely converted
// PyTorch weights whose normalisation nobody recorded: eval and predict print
// missing_preprocessing_warning (an explicit "[]" means raw pixels on purpose and is quiet).
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
    bool preprocessing_recorded = true;  // false: the file had no "preprocessing" key
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

    // The labels half as a dataset spec with index masks (classes, palette, ignore index, image
    // channels), so a ground-truth mask given to predict is judged by the datasets' rule
    // (data/label_map.h): every label a class index or the ignore index.
    data::DatasetSpec label_spec() const;
};

// "" when the card records its preprocessing; else a loud multi-line warning naming `file`: the
// images will be fed as raw 0..255 values, which is wrong for ImageNet-normalised (torchvision)
// weights, and how to record the preprocessing (scripts/convert_pth.py --preset imagenet).
std::string missing_preprocessing_warning(const ModelCard& card, const std::string& file);

// The reserved metadata keys a ModelCard reads (what is not in `extra`).
const std::vector<std::string>& model_card_keys();

}  // namespace segcore::seg
