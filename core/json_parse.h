#pragma once
// The one way segcore parses JSON text from outside the program (config files, --set values,
// dataset specs, model-file metadata, safetensors headers). On top of nlohmann's parser it:
//   - limits nesting depth (kMaxJsonDepth): copying, comparing and dumping a JSON value recurse,
//     so a value nested 100k levels deep would overflow the stack long after parsing succeeded;
//   - rejects duplicate keys (nlohmann keeps the last one silently), naming the key's JSON path;
//   - names `what` (the file, flag or metadata entry) and the line and column in every error,
//     and keeps the error short however large the offending token is.
// Every failure is a segcore::Error; no input crashes.
//
//   const nlohmann::json cfg = parse_json(text, "config train.json", {.allow_comments = true});
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace segcore {

// Deeper than any real config, model spec or header (they nest fewer than 10 levels).
constexpr int kMaxJsonDepth = 128;

struct JsonParseOptions {
    bool allow_comments = false;  // // and /* */ comments (configs allow them)
    int max_depth = kMaxJsonDepth;
};

nlohmann::json parse_json(std::string_view text, const std::string& what, const JsonParseOptions& opt = {});
// The same, keeping object keys in file order (safetensors headers list tensors in file order).
nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& what,
                                          const JsonParseOptions& opt = {});

// A value for an error message: compact JSON cut to about `max_chars` characters ("..." marks the
// cut). Costs O(max_chars) and recurses at most max_chars levels, whatever the value's size.
std::string json_excerpt(const nlohmann::json& v, size_t max_chars = 100);
std::string json_excerpt(const nlohmann::ordered_json& v, size_t max_chars = 100);

}  // namespace segcore
