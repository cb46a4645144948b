#include "seg/models/model_file.h"

#include "core/error.h"
#include "core/json_parse.h"
#include "core/safetensors.h"
#include "seg/models/registry.h"

namespace segcore::seg {

void save_model_file(const SegModel& model, const nlohmann::json& spec, const std::string& path,
                     std::map<std::string, std::string> metadata) {
    metadata["model"] = spec.dump();
    metadata["format"] = "segcore-model-1";
    nn::save_module(model, path, metadata);
}

LoadedModel load_model_file(const std::string& path, bool allow_nonfinite) {
    const SafetensorsFile f = load_safetensors(path);
    const auto it = f.metadata.find("model");
    SEGCORE_CHECK(it != f.metadata.end(), path,
                  ": no \"model\" entry in the safetensors metadata, so the network cannot be rebuilt from the file "
                  "(a bare state dict: build the model from its JSON spec and load the weights into it)");
    LoadedModel out;
    out.spec = parse_json(it->second, path + ": metadata \"model\"");
    out.metadata = f.metadata;
    try {
        out.model = build_model(out.spec, "model");
    } catch (const Error& e) {
        SEGCORE_THROW(path, ": ", e.message());
    }
    nn::NamedTensors state(f.tensors.begin(), f.tensors.end());
    try {
        out.model->load_state_dict(state, /*strict=*/true, allow_nonfinite);
    } catch (const Error& e) {
        SEGCORE_THROW(path, ": the weights cannot be loaded into the model the file describes:\n", e.message());
    }
    return out;
}

}  // namespace segcore::seg
