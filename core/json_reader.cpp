#include "core/json_reader.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/json_parse.h"

namespace segcore {

std::string join_strings(const std::vector<std::string>& v, const std::string& sep) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
    return s;
}

JsonReader::JsonReader(const json& obj, std::string path) : obj_(obj), path_(std::move(path)) {
    SEGCORE_CHECK(obj_.is_object(), path_.empty() ? "the document" : path_, ": expected a JSON object {...}, got ",
                  json_excerpt(obj_));
}

bool JsonReader::has(const std::string& key) const { return obj_.contains(key); }

const JsonReader::json* JsonReader::find(const std::string& key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
    const auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
}

const JsonReader::json* JsonReader::raw(const std::string& key) { return find(key); }

int64_t JsonReader::integer(const std::string& key, int64_t dflt, int64_t min, int64_t max) {
    const json* v = find(key);
    if (!v) return dflt;
    SEGCORE_CHECK(v->is_number_integer(), path_of(key), ": expected an integer, got ", json_excerpt(*v));
    // 2^63 and above parse as unsigned: get<int64_t>() would wrap them to negative numbers.
    SEGCORE_CHECK(!v->is_number_unsigned() || (max >= 0 && v->get<uint64_t>() <= uint64_t(max)), path_of(key),
                  ": expected an integer in [", min, ", ", max, "], got ", json_excerpt(*v));
    const int64_t x = v->get<int64_t>();
    SEGCORE_CHECK(x >= min && x <= max, path_of(key), ": expected an integer in [", min, ", ", max, "], got ", x);
    return x;
}

int64_t JsonReader::integer_choice(const std::string& key, int64_t dflt, const std::vector<int64_t>& choices) {
    const int64_t x = integer(key, dflt);
    if (std::find(choices.begin(), choices.end(), x) != choices.end()) return x;
    std::vector<std::string> c;
    for (int64_t v : choices) c.push_back(std::to_string(v));
    SEGCORE_THROW(path_of(key), ": expected one of ", join_strings(c), ", got ", x);
}

double JsonReader::number(const std::string& key, double dflt, double min, double max) {
    const json* v = find(key);
    if (!v) return dflt;
    SEGCORE_CHECK(v->is_number(), path_of(key), ": expected a number, got ", json_excerpt(*v));
    const double x = v->get<double>();
    SEGCORE_CHECK(std::isfinite(x) && x >= min && x <= max, path_of(key), ": expected a number in [", min, ", ", max,
                  "], got ", json_excerpt(*v));
    return x;
}

bool JsonReader::boolean(const std::string& key, bool dflt) {
    const json* v = find(key);
    if (!v) return dflt;
    SEGCORE_CHECK(v->is_boolean(), path_of(key), ": expected true or false, got ", json_excerpt(*v));
    return v->get<bool>();
}

namespace {
std::string checked_choice(const std::string& where, const nlohmann::json& v, const std::vector<std::string>& choices) {
    SEGCORE_CHECK(v.is_string(), where, ": expected a string, got ", json_excerpt(v));
    const std::string s = v.get<std::string>();
    SEGCORE_CHECK(choices.empty() || std::find(choices.begin(), choices.end(), s) != choices.end(), where,
                  ": unknown value ", json_excerpt(v), " (allowed: ", join_strings(choices), ")");
    return s;
}
}  // namespace

std::string JsonReader::string(const std::string& key, const std::string& dflt, const std::vector<std::string>& choices) {
    const json* v = find(key);
    return v ? checked_choice(path_of(key), *v, choices) : dflt;
}

std::string JsonReader::required_string(const std::string& key, const std::vector<std::string>& choices) {
    const json* v = find(key);
    SEGCORE_CHECK(v, path_of(key), ": missing",
                  choices.empty() ? std::string() : " (one of: " + join_strings(choices) + ")");
    return checked_choice(path_of(key), *v, choices);
}

std::vector<int64_t> JsonReader::integers(const std::string& key, const std::vector<int64_t>& dflt, int64_t min,
                                          int64_t max) {
    const json* v = find(key);
    if (!v) return dflt;
    SEGCORE_CHECK(v->is_array(), path_of(key), ": expected an array of integers, got ", json_excerpt(*v));
    std::vector<int64_t> out;
    for (size_t i = 0; i < v->size(); ++i) {
        const json& e = (*v)[i];
        SEGCORE_CHECK(e.is_number_integer() && (!e.is_number_unsigned() || e.get<uint64_t>() <= uint64_t(INT64_MAX)) &&
                          e.get<int64_t>() >= min && e.get<int64_t>() <= max, path_of(key), "[", i,
                      "]: expected an integer in [", min, ", ", max, "], got ", json_excerpt(e));
        out.push_back(e.get<int64_t>());
    }
    return out;
}

void JsonReader::finish() const {
    for (const auto& [k, v] : obj_.items())
        SEGCORE_CHECK(std::find(known_.begin(), known_.end(), k) != known_.end(),
                      k.size() <= 100 ? path_of(k) : path_of(k.substr(0, 100) + "..."),  // a huge key stays short
                      ": unknown key (allowed: ", join_strings(known_), ")");
}

}  // namespace segcore
