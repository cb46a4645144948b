// `segcore info <model.json | config.json | model.safetensors>`: the model's per-layer summary
// (output shape, parameters, FLOPs), totals, and an estimate of peak training memory for a batch,
// crop and precision (seg/models/summary.h) — to know before step 1 whether a run will fit.
#include <cstdio>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "core/json_parse.h"
#include "data/dataset_spec.h"
#include "data/file_util.h"
#include "nn/module.h"
#include "seg/inference/infer.h"
#include "seg/inference/model_card.h"
#include "seg/models/model_file.h"
#include "seg/models/registry.h"
#include "seg/models/summary.h"
#include "seg/train/config_file.h"

namespace segcore::apps {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A model spec, a training config with a "model" section, or a self-describing model file.
std::shared_ptr<seg::SegModel> load_any(const std::string& path, nlohmann::json& spec) {
    if (ends_with(path, ".safetensors")) {
        // info describes a file even when its weights are NaN/Inf (eval and predict refuse it): say so.
        seg::LoadedModel lm = seg::load_model_file(path, /*allow_nonfinite=*/true);
        if (const std::string bad = nn::find_nonfinite(lm.model->state_dict()); !bad.empty())
            std::printf("segcore info: warning: %s: %s (eval and predict refuse it without --allow-nonfinite)\n",
                        path.c_str(), bad.c_str());
        spec = lm.spec;
        return lm.model;
    }
    const std::vector<uint8_t> bytes = data::read_file_bytes(path);
    const nlohmann::json j = parse_json(std::string(bytes.begin(), bytes.end()), path, {.allow_comments = true});
    // No model spec has a "model" object or a "base"; training configs do.
    const bool is_config = j.is_object() && (j.contains("base") || (j.contains("model") && j["model"].is_object()));
    if (is_config) {
        // A training config: resolve its bases, and take the class count and channels from its
        // dataset when the model section leaves them to it (as `segcore train` does).
        const nlohmann::json doc = seg::load_config_file(path);
        SEGCORE_CHECK(doc.contains("model") && doc["model"].is_object(), path, ": no \"model\" section");
        spec = doc["model"];
        spec.erase("pretrained");
        const nlohmann::json data = doc.value("data", nlohmann::json::object());
        if (!spec.contains("num_classes") || !spec.contains("in_channels")) {
            const std::string ds = data.value("dataset", "");
            if (!ds.empty() && std::filesystem::exists(ds)) {
                const data::DatasetSpec d = data::load_dataset_spec(ds);
                if (!spec.contains("num_classes")) spec["num_classes"] = d.num_classes();
                if (!spec.contains("in_channels")) spec["in_channels"] = d.image_channels;
            } else if (data.contains("synth") && data["synth"].is_object() && !spec.contains("num_classes")) {
                spec["num_classes"] = data["synth"].value("classes", int64_t(6));
            }
        }
    } else {
        spec = j;
    }
    try {
        return seg::build_model(spec, is_config ? "model" : "");
    } catch (const Error& e) {
        SEGCORE_THROW(path, ": ", e.message());
    }
}

}  // namespace

void add_info_command(CLI::App& app) {
    struct Options {
        std::string input, size = "512x512", precision = "f32", optimizer = "adamw", json;
        int64_t batch = 8;
        bool list = false, check = false;
    };
    static Options o;
    auto* cmd = app.add_subcommand("info", "Per-layer summary of a model, its FLOPs and estimated training memory");
    cmd->add_option("model", o.input, "model JSON spec, training config (its \"model\" section) or .safetensors model file");
    cmd->add_option("--size", o.size, "input crop HxW (default 512x512)");
    cmd->add_option("--batch", o.batch, "batch size for the memory estimate (default 8)")->check(CLI::PositiveNumber);
    cmd->add_option("--precision", o.precision, "activation precision for the estimate: f32, bf16, f16 (default f32)")
        ->check(CLI::IsMember({"f32", "bf16", "f16"}));
    cmd->add_option("--optimizer", o.optimizer, "optimiser state in the estimate: adamw, adam, sgd, none (default adamw)")
        ->check(CLI::IsMember({"adamw", "adam", "sgd", "none"}));
    cmd->add_option("--json", o.json, "also write the summary as JSON to this file");
    cmd->add_flag("--list", o.list, "list the models the registry can build and exit");
    cmd->add_flag("--check", o.check,
                  "model file only: rebuild the network from its spec, load the weights strictly, validate the "
                  "model card, print one line (scripts/convert_pth.py runs this)");
    cmd->callback([] {
        if (o.list) {
            for (const seg::ModelEntry& e : seg::model_registry()) std::printf("%-16s %s\n", e.name.c_str(), e.summary.c_str());
            return;
        }
        SEGCORE_CHECK(!o.input.empty(), "segcore info: give a model spec, config or model file (or --list)");
        if (o.check) {
            SEGCORE_CHECK(ends_with(o.input, ".safetensors"),
                          "segcore info --check: expected a .safetensors model file, got ", o.input);
            const seg::LoadedModel lm = seg::load_model_file(o.input);  // strict: every name and shape
            const seg::ModelCard card = seg::ModelCard::from_metadata(lm.metadata, o.input);
            std::printf("%s: OK: %s, %lld classes, %d input channel(s), %zu tensors, preprocessing %s\n",
                        o.input.c_str(), lm.spec.value("name", std::string("?")).c_str(), (long long)card.num_classes(),
                        card.image_channels, lm.model->state_dict().size(),
                        card.preprocessing_recorded ? card.preprocessing.dump().c_str() : "NOT RECORDED");
            return;
        }
        nlohmann::json spec;
        const auto model = load_any(o.input, spec);
        const auto [h, w] = seg::parse_size_hw(o.size, "--size");
        const int64_t in_ch = spec.value("in_channels", int64_t(3));
        const DType prec = o.precision == "f32" ? DType::F32 : o.precision == "bf16" ? DType::BF16 : DType::F16;
        const seg::ModelSummary s = seg::summarize_model(*model, in_ch, h, w);
        const seg::MemoryEstimate m = seg::estimate_training_memory(s, o.batch, prec, o.optimizer);
        std::printf("segcore info: %s\n%s", o.input.c_str(), seg::format_summary(s, m, o.batch, prec).c_str());
        if (!o.json.empty()) {
            const std::string text = seg::summary_json(s, m, o.batch, prec) + "\n";
            data::write_file_atomic(o.json, text.data(), text.size());
            std::printf("written to %s\n", o.json.c_str());
        }
    });
}

}  // namespace segcore::apps
