#include "nn/optim/state_dict.h"

#include <utility>
#include <vector>

#include "core/error.h"
#include "core/safetensors.h"

namespace segcore::nn {

void StateDict::save(const std::string& path) const {
    std::vector<std::pair<std::string, Tensor>> list(tensors.begin(), tensors.end());  // sorted by name
    save_safetensors(path, list, metadata);
}

StateDict StateDict::load(const std::string& path) {
    SafetensorsFile f = load_safetensors(path);
    StateDict sd;
    for (auto& [name, t] : f.tensors) sd.tensors.emplace(name, t);
    sd.metadata = std::move(f.metadata);
    return sd;
}

void StateDict::insert(const std::string& prefix, const StateDict& other) {
    for (const auto& [k, t] : other.tensors) {
        SEGCORE_CHECK(tensors.emplace(prefix + k, t).second, "StateDict::insert: the key '", prefix + k,
                      "' is already present");
    }
    for (const auto& [k, v] : other.metadata) {
        SEGCORE_CHECK(metadata.emplace(prefix + k, v).second, "StateDict::insert: the metadata key '", prefix + k,
                      "' is already present");
    }
}

StateDict StateDict::extract(const std::string& prefix) const {
    StateDict out;
    for (const auto& [k, t] : tensors)
        if (k.compare(0, prefix.size(), prefix) == 0) out.tensors.emplace(k.substr(prefix.size()), t);
    for (const auto& [k, v] : metadata)
        if (k.compare(0, prefix.size(), prefix) == 0) out.metadata.emplace(k.substr(prefix.size()), v);
    return out;
}

const Tensor& StateDict::at(const std::string& key, const std::string& who) const {
    const auto it = tensors.find(key);
    SEGCORE_CHECK(it != tensors.end(), who, ": the state dict has no entry '", key, "' (", tensors.size(),
                  " tensors present; was it saved by a different component or with a different prefix?)");
    return it->second;
}

const std::string& StateDict::meta(const std::string& key, const std::string& who) const {
    const auto it = metadata.find(key);
    SEGCORE_CHECK(it != metadata.end(), who, ": the state dict has no metadata entry '", key, "'");
    return it->second;
}

void StateDict::put_f64(const std::string& key, double v) { tensors[key] = full({}, v, DType::F64); }
void StateDict::put_i64(const std::string& key, int64_t v) { tensors[key] = from_vector<int64_t>({v}, {}); }

double StateDict::get_f64(const std::string& key, const std::string& who) const {
    const Tensor& t = at(key, who);
    SEGCORE_CHECK(t.numel() == 1 && t.dtype() == DType::F64, who, ": entry '", key, "' must be one f64 value, got ",
                  t.meta_str());
    return t.cpu().item<double>();
}

int64_t StateDict::get_i64(const std::string& key, const std::string& who) const {
    const Tensor& t = at(key, who);
    SEGCORE_CHECK(t.numel() == 1 && t.dtype() == DType::I64, who, ": entry '", key, "' must be one i64 value, got ",
                  t.meta_str());
    return t.cpu().item<int64_t>();
}

}  // namespace segcore::nn
