// Pretrained weights, as they are or under the backbone's names (seg/models/pretrained.h).
#include "seg/models/pretrained.h"

#include <map>

#include "core/error.h"
#include "core/safetensors.h"

namespace segcore::seg {

namespace {

nn::NamedTensors with_prefix(const nn::NamedTensors& state, const std::string& prefix) {
    nn::NamedTensors out;
    out.reserve(state.size());
    for (const auto& [name, t] : state) out.emplace_back(prefix + name, t);
    return out;
}

// Tensors of `state` whose name and shape the model has.
size_t matches(const std::map<std::string, Shape>& model, const nn::NamedTensors& state) {
    size_t n = 0;
    for (const auto& [name, t] : state) {
        const auto it = model.find(name);
        n += it != model.end() && it->second == t.shape();
    }
    return n;
}

std::string first_names(const std::vector<std::string>& names) {
    std::string s;
    for (size_t i = 0; i < names.size() && i < 3; ++i) s += (i ? ", " : "") + names[i];
    return s + (names.size() > 3 ? ", ..." : "");
}

}  // namespace

PretrainedLoad load_pretrained(SegModel& model, const std::string& path) {
    const SafetensorsFile f = load_safetensors(path);
    std::map<std::string, Shape> shapes;
    std::vector<std::string> model_names;
    for (const auto& [name, t] : model.state_dict()) {
        shapes.emplace(name, t.shape());
        model_names.push_back(name);
    }
    PretrainedLoad out;
    const nn::NamedTensors prefixed = with_prefix(f.tensors, "backbone.");
    const size_t as_is = matches(shapes, f.tensors), under_backbone = matches(shapes, prefixed);
    SEGCORE_CHECK(as_is > 0 || under_backbone > 0, "model.pretrained: ", path,
                  " matched no tensor of the model, neither by its own names (", first_names(f.names()),
                  ") nor under \"backbone.\"; the model's names are ", first_names(model_names),
                  " (convert with scripts/convert_pth.py --add-prefix or --strip-prefix to fit, docs/weights.md)");
    if (under_backbone > as_is) out.prefix = "backbone.";
    try {
        out.report = model.load_state_dict(out.prefix.empty() ? f.tensors : prefixed, /*strict=*/false);
    } catch (const Error& e) {
        SEGCORE_THROW("model.pretrained: loading ", path, ": ", e.message());
    }
    return out;
}

}  // namespace segcore::seg
