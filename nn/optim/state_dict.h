#pragma once
// StateDict: named tensors plus string metadata, the resumable state of an optimiser, a learning-rate
// schedule or a grad scaler. It maps one to one onto a safetensors file (core/safetensors.h), so a
// save / load round trip is bit-exact: numbers that must survive exactly (learning rates, step
// counts, the loss scale) are stored as 0-d f64 / i64 / f32 tensors, never printed as text.
//
// Several components share one checkpoint file through prefixes:
//   StateDict ckpt;
//   ckpt.insert("optimizer.", opt.state_dict());
//   ckpt.insert("scheduler.", sched.state_dict());
//   ckpt.insert("scaler.", scaler.state_dict());
//   ckpt.save(path);                                     // atomic (temp file + rename)
//   ...
//   const StateDict loaded = StateDict::load(path);
//   opt.load_state_dict(loaded.extract("optimizer."));
#include <cstdint>
#include <map>
#include <string>

#include "core/tensor.h"

namespace segcore::nn {

struct StateDict {
    std::map<std::string, Tensor> tensors;
    std::map<std::string, std::string> metadata;

    void save(const std::string& path) const;
    static StateDict load(const std::string& path);

    // Adds every tensor and metadata entry of `other` under prefix + key (a clash is an error).
    void insert(const std::string& prefix, const StateDict& other);
    // The entries whose key starts with prefix, with the prefix removed.
    StateDict extract(const std::string& prefix) const;

    bool contains(const std::string& key) const { return tensors.count(key) != 0; }
    // The tensor `key`; a missing key is an error naming `who` and the key.
    const Tensor& at(const std::string& key, const std::string& who) const;
    const std::string& meta(const std::string& key, const std::string& who) const;

    // 0-d values, written and read exactly.
    void put_f64(const std::string& key, double v);
    void put_i64(const std::string& key, int64_t v);
    double get_f64(const std::string& key, const std::string& who) const;
    int64_t get_i64(const std::string& key, const std::string& who) const;
};

}  // namespace segcore::nn
