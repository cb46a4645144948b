#include "seg/train/config_file.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "core/json_parse.h"
#include "core/json_reader.h"
#include "data/file_util.h"

namespace segcore::seg {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

json parse_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    SEGCORE_CHECK(in, "config ", path, ": cannot open (", data::file_exists(path) ? "unreadable" : "no such file", ")");
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_json(ss.str(), "config " + path, {.allow_comments = true});
}

// The config keys that hold file paths. A relative path means relative to the file that writes
// it (a base in configs/base/ names "../datasets/camvid.json"), so each file's paths are made
// absolute before the files are merged.
const std::vector<std::pair<std::string, std::string>> kPathKeys = {
    {"data", "dataset"}, {"data", "root"}, {"model", "pretrained"}, {"loss", "teacher"}, {"checkpoint", "dir"}};

}  // namespace

void absolutize_config_paths(json& doc, const std::string& dir) {
    for (const auto& [section, key] : kPathKeys) {
        if (!doc.contains(section) || !doc[section].is_object() || !doc[section].contains(key)) continue;
        json& v = doc[section][key];
        if (!v.is_string()) continue;  // the validation reports the type
        const std::string p = v.get<std::string>();
        // Empty, absolute, and environment-variable paths ("${CITYSCAPES_ROOT}") stay as written.
        if (p.empty() || p[0] == '$' || fs::path(p).is_absolute()) continue;
        v = (fs::path(dir) / p).lexically_normal().string();
    }
}

namespace {

json load_with_bases(const std::string& path, std::vector<std::string>& chain) {
    // The error_code overload: a path the OS refuses (too long) is reported below, not thrown here.
    std::error_code ec;
    std::string canon = fs::weakly_canonical(fs::absolute(path), ec).string();
    if (ec) canon = path;
    if (std::find(chain.begin(), chain.end(), canon) != chain.end()) {
        chain.push_back(canon);
        SEGCORE_THROW("config ", path, ": \"base\" includes form a cycle: ", join_strings(chain, " -> "));
    }
    chain.push_back(canon);
    json doc = parse_file(path);
    SEGCORE_CHECK(doc.is_object(), "config ", path, ": expected a JSON object at the top level, got ", doc.type_name());
    json merged = json::object();
    if (const auto it = doc.find("base"); it != doc.end()) {
        std::vector<std::string> bases;
        if (it->is_string()) {
            bases.push_back(it->get<std::string>());
        } else {
            SEGCORE_CHECK(it->is_array(), "config ", path, ": base: expected a path or an array of paths, got ",
                          json_excerpt(*it));
            for (const json& b : *it) {
                SEGCORE_CHECK(b.is_string(), "config ", path, ": base: expected a path, got ", json_excerpt(b));
                bases.push_back(b.get<std::string>());
            }
        }
        const fs::path dir = fs::path(path).parent_path();
        for (const std::string& b : bases) {
            const fs::path p = fs::path(b).is_absolute() ? fs::path(b) : dir / b;
            SEGCORE_CHECK(data::file_exists(p.string()), "config ", path, ": base: ", p.string(), ": no such file");
            merge_config(merged, load_with_bases(p.string(), chain));
        }
        doc.erase("base");
    }
    absolutize_config_paths(doc, fs::absolute(path).parent_path().string());
    merge_config(merged, doc);
    chain.pop_back();
    return merged;
}

}  // namespace

void merge_config(json& base, const json& over) {
    if (!base.is_object() || !over.is_object()) {
        base = over;
        return;
    }
    for (auto it = over.begin(); it != over.end(); ++it) {
        if (base.contains(it.key()) && base[it.key()].is_object() && it.value().is_object())
            merge_config(base[it.key()], it.value());
        else
            base[it.key()] = it.value();
    }
}

json load_config_file(const std::string& path) {
    std::vector<std::string> chain;
    return load_with_bases(path, chain);
}

void apply_config_override(json& config, const std::string& assignment) {
    // Invalid UTF-8 would only fail later, when the config is dumped for its hash; say so now (the
    // message shows the text with the bad bytes replaced, so it stays printable).
    try {
        (void)json(assignment).dump();
    } catch (const json::type_error&) {
        SEGCORE_THROW("--set ", json(assignment).dump(-1, ' ', false, json::error_handler_t::replace),
                      ": not valid UTF-8 text");
    }
    const size_t eq = assignment.find('=');
    SEGCORE_CHECK(eq != std::string::npos && eq > 0, "--set ", assignment, ": expected key.path=value");
    const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
    json value;
    try {
        value = parse_json(text, "--set " + assignment);
    } catch (const Error&) {
        // Text meant as an object, an array or a number is reported, not kept as a string.
        static const std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
        if (std::regex_match(text, number))  // 1e999: valid JSON syntax, no double holds it
            SEGCORE_THROW("--set ", assignment, ": ", key, ": the number ", text, " is out of range");
        if (!text.empty() && (text[0] == '{' || text[0] == '[')) throw;
        value = text;  // unquoted strings: model.name=unet
    }
    json* node = &config;
    std::string walked;
    size_t start = 0;
    for (;;) {
        const size_t dot = key.find('.', start);
        const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        SEGCORE_CHECK(!part.empty(), "--set ", assignment, ": empty key in '", key, "'");
        SEGCORE_CHECK(node->is_object(), "--set ", assignment, ": ", walked, " is ", node->type_name(),
                      ", not an object");
        walked += (walked.empty() ? "" : ".") + part;
        if (dot == std::string::npos) {
            (*node)[part] = value;
            return;
        }
        if (!node->contains(part)) (*node)[part] = json::object();
        node = &(*node)[part];
        start = dot + 1;
    }
}

std::string config_hash(const json& config) {
    // nlohmann's object is a std::map: dump() lists keys sorted, so equal configs dump equally.
    const std::string s = config.dump();
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
    return buf;
}

}  // namespace segcore::seg
