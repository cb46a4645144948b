// The metadata contract of a model file (seg/inference/model_card.h).
#include "seg/inference/model_card.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/json_parse.h"
#include "data/transforms.h"
#include "seg/inference/visualize.h"

namespace segcore::seg {

using json = nlohmann::json;

const std::vector<std::string>& model_card_keys() {
    static const std::vector<std::string> keys = {"classes",       "palette",   "ignore_index", "image_channels",
                                                  "preprocessing", "inference", "dataset"};
    return keys;
}

namespace {

// Parses metadata value `key` as JSON; errors name the file and the key.
json parse_value(const std::map<std::string, std::string>& md, const std::string& key, const std::string& file) {
    return parse_json(md.at(key), file + ": metadata \"" + key + "\"");
}

}  // namespace

std::map<std::string, std::string> ModelCard::to_metadata() const {
    std::map<std::string, std::string> md = extra;
    md["classes"] = json(classes).dump();
    json pal = json::array();
    for (const auto& c : palette.empty() ? default_palette(num_classes()) : palette) pal.push_back({c[0], c[1], c[2]});
    md["palette"] = pal.dump();
    md["ignore_index"] = std::to_string(ignore_index);
    md["image_channels"] = std::to_string(image_channels);
    md["preprocessing"] = preprocessing.dump();
    md["inference"] = inference.to_json().dump();
    md["dataset"] = dataset;
    return md;
}

ModelCard ModelCard::from_metadata(const std::map<std::string, std::string>& md, const std::string& file) {
    ModelCard card;
    const auto has = [&](const std::string& k) { return md.count(k) > 0; };
    const auto where = [&](const std::string& k) { return file + ": metadata \"" + k + "\""; };

    // K and the input channels from the network itself, when the file has its spec.
    int64_t model_classes = -1, model_channels = -1;
    if (has("model")) {
        const json spec = parse_value(md, "model", file);
        if (spec.is_object() && spec.contains("num_classes") && spec["num_classes"].is_number_integer())
            model_classes = spec["num_classes"].get<int64_t>();
        if (spec.is_object()) {
            const json ch = spec.value("in_channels", json(3));  // the registry's default
            if (ch.is_number_integer()) model_channels = ch.get<int64_t>();
        }
    }

    if (has("classes")) {
        const json j = parse_value(md, "classes", file);
        SEGCORE_CHECK(j.is_array(), where("classes"), ": expected a JSON array of class names, got ", json_excerpt(j));
        for (size_t i = 0; i < j.size(); ++i) {
            SEGCORE_CHECK(j[i].is_string(), where("classes"), "[", i, "]: expected a string, got ", json_excerpt(j[i]));
            card.classes.push_back(j[i].get<std::string>());
        }
        SEGCORE_CHECK(model_classes < 0 || int64_t(card.classes.size()) == model_classes, where("classes"), ": ",
                      card.classes.size(), " names, but the model has ", model_classes, " classes");
    } else {
        for (int64_t c = 0; c < std::max<int64_t>(model_classes, 0); ++c)
            card.classes.push_back("class" + std::to_string(c));
    }

    if (has("palette")) {
        const json j = parse_value(md, "palette", file);
        SEGCORE_CHECK(j.is_array(), where("palette"), ": expected a JSON array of [r, g, b], got ", json_excerpt(j));
        for (size_t i = 0; i < j.size(); ++i) {
            const json& e = j[i];
            bool ok = e.is_array() && e.size() == 3;
            for (size_t k = 0; ok && k < 3; ++k)
                ok = e[k].is_number_integer() && e[k].get<int64_t>() >= 0 && e[k].get<int64_t>() <= 255;
            SEGCORE_CHECK(ok, where("palette"), "[", i, "]: expected [r, g, b] with integers 0..255, got ",
                          json_excerpt(e));
            card.palette.push_back({uint8_t(e[0].get<int>()), uint8_t(e[1].get<int>()), uint8_t(e[2].get<int>())});
        }
        SEGCORE_CHECK(card.palette.empty() || card.palette.size() >= card.classes.size(), where("palette"), ": ",
                      card.palette.size(), " colours for ", card.classes.size(), " classes");
    }
    if (card.palette.empty()) card.palette = default_palette(card.num_classes());

    if (has("ignore_index")) {
        const json j = parse_value(md, "ignore_index", file);
        SEGCORE_CHECK(j.is_number_integer() && j.get<int64_t>() >= -1 && j.get<int64_t>() <= 65535,
                      where("ignore_index"), ": expected an integer in [-1, 65535], got ", md.at("ignore_index"));
        card.ignore_index = j.get<int32_t>();
        SEGCORE_CHECK(card.ignore_index < 0 || card.ignore_index >= card.num_classes(), where("ignore_index"), ": ",
                      card.ignore_index, " is a class index (", card.num_classes(), " classes)");
    }

    if (has("image_channels")) {
        const json j = parse_value(md, "image_channels", file);
        SEGCORE_CHECK(j.is_number_integer() && (j.get<int64_t>() == 1 || j.get<int64_t>() == 3),
                      where("image_channels"), ": expected 1 or 3, got ", md.at("image_channels"));
        card.image_channels = j.get<int>();
        // One rule for eval and predict: images are read with the channels the network takes.
        SEGCORE_CHECK(model_channels < 0 || card.image_channels == model_channels, where("image_channels"), ": ",
                      card.image_channels, ", but the model takes ", model_channels, " input channel(s)");
    } else if (model_channels == 1 || model_channels == 3) {
        card.image_channels = int(model_channels);
    }

    card.preprocessing_recorded = has("preprocessing");
    if (has("preprocessing")) {
        card.preprocessing = parse_value(md, "preprocessing", file);
        SEGCORE_CHECK(card.preprocessing.is_array(), where("preprocessing"),
                      ": expected a JSON array of transforms, got ", json_excerpt(card.preprocessing));
        try {  // validated now, so a bad pipeline is reported before any image is read
            data::TransformContext ctx;
            ctx.ignore_index = card.ignore_index;
            data::Compose::from_json(card.preprocessing, ctx, "preprocessing");
        } catch (const Error& e) {
            SEGCORE_THROW(where("preprocessing"), ": ", e.message());
        }
    }

    if (has("inference")) {
        try {
            card.inference = InferOptions::from_json(parse_value(md, "inference", file), "inference");
        } catch (const Error& e) {
            SEGCORE_THROW(file, ": metadata \"inference\": ", e.message());
        }
    }

    if (has("dataset")) card.dataset = md.at("dataset");

    const std::vector<std::string>& reserved = model_card_keys();
    for (const auto& [k, v] : md)
        if (k != "model" && k != "format" && std::find(reserved.begin(), reserved.end(), k) == reserved.end())
            card.extra[k] = v;
    return card;
}

ModelCard ModelCard::from_dataset(const data::DatasetSpec& spec) {
    ModelCard card;
    card.classes = spec.classes;
    card.palette = spec.palette.size() >= spec.classes.size() && !spec.palette.empty()
                       ? spec.palette
                       : default_palette(spec.num_classes());
    card.ignore_index = spec.ignore_index;
    card.image_channels = spec.image_channels;
    if (!spec.spec_path.empty()) card.dataset = std::filesystem::absolute(spec.spec_path).lexically_normal().string();
    return card;
}

data::DatasetSpec ModelCard::label_spec() const {
    data::DatasetSpec s;
    s.name = "model card";
    s.classes = classes;
    s.palette = palette;
    s.ignore_index = ignore_index;
    s.image_channels = image_channels;
    return s;
}

std::string missing_preprocessing_warning(const ModelCard& card, const std::string& file) {
    if (card.preprocessing_recorded) return "";
    return "WARNING: " + file +
           " records no preprocessing (no \"preprocessing\" metadata), so images are fed to the network as raw "
           "0..255 pixel values.\n"
           "WARNING: weights converted from PyTorch/torchvision expect ImageNet normalisation and predict garbage "
           "on raw pixels.\n"
           "WARNING: record it: /usr/bin/python3 scripts/convert_pth.py " +
           file + " FIXED.safetensors --preset imagenet (docs/weights.md).\n";
}

}  // namespace segcore::seg
