#pragma once
// Shared by the runtime suites: a tiny U-Net model file with a card (as the trainer writes it) and
// deterministic random images.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "seg/inference/model_card.h"
#include "seg/models/model_file.h"
#include "seg/models/registry.h"

namespace segcore::test {

// preprocessing: the card's pipeline (default: normalise around 128); inference: the card's
// InferOptions as JSON (default: whole image).
inline void save_runtime_model(const std::string& path, int64_t classes = 3, nlohmann::json preprocessing = nullptr,
                               nlohmann::json inference = nullptr) {
    const nlohmann::json spec = {{"name", "unet"}, {"num_classes", classes}, {"depth", 1}, {"base_width", 4}};
    manual_seed(7);
    auto m = seg::build_model(spec);
    seg::ModelCard card;
    if (classes > 255) card.ignore_index = 65535;  // 255 would be a class
    for (int64_t k = 0; k < classes; ++k) card.classes.push_back("class" + std::to_string(k));
    card.preprocessing =
        preprocessing.is_null()
            ? nlohmann::json::array({{{"type", "normalize"}, {"mean", {0.5, 0.4, 0.3}}, {"std", {0.25, 0.2, 0.3}}}})
            : preprocessing;
    if (!inference.is_null()) card.inference = seg::InferOptions::from_json(inference, "inference");
    seg::save_model_file(*m, spec, path, card.to_metadata());
}

// height x width x channels bytes from a small LCG.
inline std::vector<uint8_t> random_pixels(int64_t h, int64_t w, int64_t c, uint32_t seed) {
    std::vector<uint8_t> px(size_t(h * w * c));
    uint32_t s = seed;
    for (auto& p : px) {
        s = s * 1664525u + 1013904223u;
        p = uint8_t(s >> 24);
    }
    return px;
}

}  // namespace segcore::test
