#pragma once
// Strict reading of one JSON object for configs (models, training): every value is type- and
// range-checked, and finish() rejects any key that was never read, listing the keys that were.
// Errors name the JSON path, e.g. "model.output_stride: expected one of 8, 16, 32, got 12".
//
//   JsonReader r(spec, "model");
//   const int64_t classes = r.integer("num_classes", 21, 1, 4096);
//   const std::string up = r.string("up_mode", "transpose", {"transpose", "bilinear"});
//   r.finish();   // "model.upmode: unknown key (allowed: num_classes, up_mode)"
//
// Because the allowed keys are exactly the ones read, the validation cannot drift from the code.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace segcore {

class JsonReader {
public:
    using json = nlohmann::json;
    JsonReader(const json& obj, std::string path);

    bool has(const std::string& key) const;
    const std::string& path() const { return path_; }
    std::string path_of(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

    int64_t integer(const std::string& key, int64_t dflt, int64_t min = std::numeric_limits<int64_t>::min(),
                    int64_t max = std::numeric_limits<int64_t>::max());
    // One of `choices` (listed in the error otherwise).
    int64_t integer_choice(const std::string& key, int64_t dflt, const std::vector<int64_t>& choices);
    double number(const std::string& key, double dflt, double min = -std::numeric_limits<double>::infinity(),
                  double max = std::numeric_limits<double>::infinity());
    bool boolean(const std::string& key, bool dflt);
    // choices empty: any string.
    std::string string(const std::string& key, const std::string& dflt, const std::vector<std::string>& choices = {});
    std::string required_string(const std::string& key, const std::vector<std::string>& choices = {});
    std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& dflt, int64_t min = 0,
                                  int64_t max = std::numeric_limits<int64_t>::max());
    // The raw value (nullptr when absent); marks the key as known. For nested objects.
    const json* raw(const std::string& key);

    // Every key read so far, in reading order (what an unknown-key error lists).
    const std::vector<std::string>& known() const { return known_; }
    void finish() const;

private:
    const json* find(const std::string& key);  // marks the key known
    const json& obj_;
    std::string path_;
    std::vector<std::string> known_;
};

std::string join_strings(const std::vector<std::string>& v, const std::string& sep = ", ");

}  // namespace segcore
