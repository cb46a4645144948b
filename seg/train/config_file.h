#pragma once
// Reading a training config file: "base" includes, --set overrides, and the hash that names a
// resolved config (docs/config.md).
//
//   base      "base": "../base/camvid.json" or ["a.json", "b.json"] — paths relative to the file
//             that names them. The bases are merged in order, then the file itself on top: objects
//             merge key by key (recursively), everything else (numbers, strings, arrays) replaces.
//             A base may have bases of its own; a cycle is an error listing the chain.
//   --set     "train.batch_size=4", "model.name=unet", "loss.terms=[{\"type\":\"dice\"}]": the
//             value is parsed as JSON when it parses, else taken as a string (so model.name=unet
//             works unquoted). The path must lead through objects; missing keys are created, and
//             the strict validation of the resolved config then rejects unknown ones.
//   hash      16 hex digits of FNV-1a 64 over the resolved config's canonical dump (keys sorted,
//             no whitespace): two runs with the same hash trained with the same settings.
//
// Paths: a relative data.dataset, data.root, model.pretrained, loss.teacher or checkpoint.dir is
// relative to the file that writes it (base or not) and is made absolute while loading, so the
// resolved config (saved beside every checkpoint) says exactly which files a run used. Paths set
// with --set are relative to the working directory (the caller makes them absolute).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace segcore::seg {

// Parses `path` and resolves its bases; errors name the file (and the parse position).
nlohmann::json load_config_file(const std::string& path);

// Applies one "a.b.c=value" override in place; errors name the override.
void apply_config_override(nlohmann::json& config, const std::string& assignment);

// Recursive merge: objects of `over` merge into `base`, other values replace.
void merge_config(nlohmann::json& base, const nlohmann::json& over);

std::string config_hash(const nlohmann::json& config);

// Makes the relative path keys listed above absolute against `dir` (load_config_file does this
// for each file; `segcore train` does it with the working directory after --set overrides).
void absolutize_config_paths(nlohmann::json& config, const std::string& dir);

}  // namespace segcore::seg
