#include "seg/models/model_file.h"

#include "core/error.h"
#include "core/safetensors.h"
#include "seg/models/registry.h"

namespace segcore::seg {

void save_model_file(const SegModel& model, const nlohmann::json& spec, const std::string& path,
                     std::map<std::string, std::string> metadata) {
    metadata["model"] = spec.dump();
    metadata["format"] = "segcore-model-1";
    nn::save_module(model, path, metadata);
}

LoadedModel load_model_file(const std::string& path) {
    const SafetensorsFile f = load_safetensors(path);
    const auto it = f.metadata.find("model");
    SEGCORE_CHECK(it != f.metadata.end(), path,
                  ": no \"model\" entry in the safetensors metadata, so the network cannot be rebuilt from the file "
                  "(a bare state dict: build the model from its JSON spec and load the weights into it)");
    LoadedModel out;
    try {
        out.spec = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception& e) {
        SEGCORE_THROW(path, ": the \"model\" metadata is not valid JSON: ", e.what());
    }
    out.metadata = f.metadata;
    try {
        out.model = build_model(out.spec, "model");
    } catch (const Error& e) {
        SEGCORE_THROW(path, ": ", e.message());
    }
    nn::NamedTensors state(f.tensors.begin(), f.tensors.end());
    try {
        out.model->load_state_dict(state, /*strict=*/true);
    } catch (const Error& e) {
        SEGCORE_THROW(path, ": the weights do not fit the model they describe:\n", e.message());
    }
    return out;
}

}  // namespace segcore::seg
