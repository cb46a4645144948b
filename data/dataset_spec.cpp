// Dataset spec JSON: strict parsing (every key known, every type checked, errors name the JSON
// path and list the allowed keys), cross-field validation, and saving.
#include "data/dataset_spec.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_parse.h"
#include "data/file_util.h"

namespace segcore::data {

namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

// Reads one JSON value with its path ("splits.train.images") for messages.
class Reader {
public:
    explicit Reader(std::string origin) : origin_(std::move(origin)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& msg) const {
        SEGCORE_THROW(origin_, ": ", path.empty() ? std::string("top level") : path, ": ", msg);
    }

    void expect_object(const Json& j, const std::string& path, const std::vector<std::string>& allowed) const {
        if (!j.is_object()) fail(path, std::string("expected an object, got ") + j.type_name());
        for (const auto& [key, value] : j.items()) {
            if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            fail(join(path, key), "unknown key; allowed keys: " + list);
        }
    }

    std::string string(const Json& j, const std::string& path) const {
        if (!j.is_string()) fail(path, std::string("expected a string, got ") + j.type_name());
        return j.get<std::string>();
    }

    int64_t integer(const Json& j, const std::string& path, int64_t lo, int64_t hi) const {
        if (!j.is_number_integer()) fail(path, std::string("expected an integer, got ") + j.type_name());
        const int64_t v = j.is_number_unsigned() ? int64_t(std::min<uint64_t>(j.get<uint64_t>(), uint64_t(INT64_MAX)))
                                                 : j.get<int64_t>();
        if (v < lo || v > hi)
            fail(path, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                           std::to_string(v));
        return v;
    }

    bool boolean(const Json& j, const std::string& path) const {
        if (!j.is_boolean()) fail(path, std::string("expected true or false, got ") + j.type_name());
        return j.get<bool>();
    }

    std::vector<std::string> strings(const Json& j, const std::string& path) const {
        if (!j.is_array()) fail(path, std::string("expected an array of strings, got ") + j.type_name());
        std::vector<std::string> out;
        for (size_t i = 0; i < j.size(); ++i) out.push_back(string(j[i], index(path, i)));
        return out;
    }

    std::array<uint8_t, 3> colour(const Json& j, const std::string& path) const {
        if (!j.is_array() || j.size() != 3) fail(path, "expected a colour [r, g, b], got " + json_excerpt(j));
        std::array<uint8_t, 3> c{};
        for (size_t k = 0; k < 3; ++k) c[k] = uint8_t(integer(j[k], index(path, k), 0, 255));
        return c;
    }

    static std::string join(const std::string& path, const std::string& key) {
        return path.empty() ? key : path + "." + key;
    }
    static std::string index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

private:
    std::string origin_;
};

const std::vector<std::string> kTopKeys = {
    "name",           "format",        "root",         "classes", "palette",
    "ignore_index",   "mask_encoding", "ignore_color", "remap",   "reduce_zero_label",
    "image_channels", "splits",        "description"};
const std::vector<std::string> kSplitKeys = {"images",       "masks",       "list",     "ids",
                                             "image_suffix", "mask_suffix", "recursive"};

SplitSpec parse_split(const Reader& r, const Json& j, const std::string& path) {
    r.expect_object(j, path, kSplitKeys);
    SplitSpec s;
    if (j.contains("images")) s.images = r.string(j["images"], Reader::join(path, "images"));
    if (j.contains("masks")) s.masks = r.string(j["masks"], Reader::join(path, "masks"));
    if (j.contains("list")) s.list = r.string(j["list"], Reader::join(path, "list"));
    if (j.contains("ids")) s.ids = r.strings(j["ids"], Reader::join(path, "ids"));
    if (j.contains("image_suffix")) s.image_suffix = r.string(j["image_suffix"], Reader::join(path, "image_suffix"));
    if (j.contains("mask_suffix")) s.mask_suffix = r.string(j["mask_suffix"], Reader::join(path, "mask_suffix"));
    if (j.contains("recursive")) s.recursive = r.boolean(j["recursive"], Reader::join(path, "recursive"));
    if (!s.list.empty() && !s.ids.empty()) r.fail(path, "give either \"list\" or \"ids\", not both");
    return s;
}

std::string resolve_root(const std::string& root, const std::string& base_dir) {
    fs::path p(root);
    if (p.is_relative()) p = fs::path(base_dir.empty() ? "." : base_dir) / p;
    return fs::absolute(p).lexically_normal().string();
}

}  // namespace

DatasetSpec parse_dataset_spec(const std::string& json_text, const std::string& base_dir, const std::string& origin) {
    Json j = parse_json(json_text, origin);
    const Reader r(origin);
    r.expect_object(j, "", kTopKeys);
    if (!j.contains("name")) r.fail("name", "missing (every dataset spec needs a name)");
    if (!j.contains("root")) r.fail("root", "missing (the dataset folder, relative to the spec file)");

    const std::string format = j.contains("format") ? r.string(j["format"], "format") : "folder";
    DatasetSpec s;
    try {
        s = dataset_preset(format);
    } catch (const Error& e) {
        r.fail("format", e.message());
    }
    s.format = format;
    s.name = r.string(j["name"], "name");
    if (s.name.empty()) r.fail("name", "must not be empty");
    const std::string root = r.string(j["root"], "root");
    if (root.empty()) r.fail("root", "must not be empty (use \".\" for the spec file's folder)");
    s.root = resolve_root(root, base_dir);
    if (j.contains("description")) s.description = r.string(j["description"], "description");
    if (j.contains("classes")) s.classes = r.strings(j["classes"], "classes");
    if (j.contains("palette")) {
        const Json& p = j["palette"];
        if (!p.is_array())
            r.fail("palette", std::string("expected an array of [r, g, b] colours, got ") + p.type_name());
        s.palette.clear();
        for (size_t i = 0; i < p.size(); ++i) s.palette.push_back(r.colour(p[i], Reader::index("palette", i)));
    }
    if (j.contains("ignore_index")) s.ignore_index = int32_t(r.integer(j["ignore_index"], "ignore_index", -1, 65535));
    if (j.contains("mask_encoding")) {
        s.mask_encoding = r.string(j["mask_encoding"], "mask_encoding");
        if (s.mask_encoding != "index" && s.mask_encoding != "rgb" && s.mask_encoding != "binary")
            r.fail("mask_encoding", "expected \"index\", \"rgb\" or \"binary\", got \"" + s.mask_encoding + "\"");
    }
    if (j.contains("ignore_color")) s.ignore_color = r.colour(j["ignore_color"], "ignore_color");
    if (j.contains("remap")) {
        const Json& m = j["remap"];
        if (!m.is_object())
            r.fail("remap", std::string("expected an object {\"stored value\": class, ...}, got ") + m.type_name());
        s.remap.clear();
        for (const auto& [key, value] : m.items()) {
            const std::string path = Reader::join("remap", key);
            size_t used = 0;
            long long from = -1;
            try {
                from = std::stoll(key, &used);
            } catch (...) {
                used = 0;
            }
            if (used != key.size() || from < 0 || from > 65535)
                r.fail(path, "keys are stored mask values, integers in [0, 65535]; got \"" + key + "\"");
            s.remap[int32_t(from)] = int32_t(r.integer(value, path, -1, 65535));
        }
    }
    if (j.contains("reduce_zero_label")) s.reduce_zero_label = r.boolean(j["reduce_zero_label"], "reduce_zero_label");
    if (j.contains("image_channels")) {
        s.image_channels = int(r.integer(j["image_channels"], "image_channels", 1, 3));
        if (s.image_channels == 2) r.fail("image_channels", "expected 1 (grey) or 3 (RGB), got 2");
    }
    if (j.contains("splits")) {
        const Json& sp = j["splits"];
        if (!sp.is_object())
            r.fail("splits", std::string("expected an object {\"train\": {...}, ...}, got ") + sp.type_name());
        for (const auto& [name, value] : sp.items())
            s.splits[name] = parse_split(r, value, Reader::join("splits", name));
    }
    validate_dataset_spec(s, origin);
    return s;
}

void validate_dataset_spec(const DatasetSpec& s, const std::string& origin) {
    const int64_t c = s.num_classes();
    SEGCORE_CHECK(c > 0, origin, ": classes: the dataset needs at least one class name");
    SEGCORE_CHECK(c <= 65536, origin, ": classes: at most 65536 classes, got ", c);
    std::set<std::string> names;
    for (const auto& n : s.classes)
        SEGCORE_CHECK(names.insert(n).second, origin, ": classes: duplicate class name '", n, "'");
    SEGCORE_CHECK(s.ignore_index < 0 || s.ignore_index >= c, origin, ": ignore_index: ", s.ignore_index,
                  " is a class index (classes are 0..", c - 1, "); use a value >= ", c, " such as 255");
    SEGCORE_CHECK(s.mask_encoding == "index" || s.mask_encoding == "rgb" || s.mask_encoding == "binary", origin,
                  ": mask_encoding: expected \"index\", \"rgb\" or \"binary\", got \"", s.mask_encoding, "\"");
    if (s.mask_encoding == "rgb")
        SEGCORE_CHECK(int64_t(s.palette.size()) >= c, origin,
                      ": palette: mask_encoding \"rgb\" needs a colour for each of the ", c,
                      " classes, the palette has ", s.palette.size());
    if (s.mask_encoding == "binary")
        SEGCORE_CHECK(c == 2, origin,
                      ": classes: mask_encoding \"binary\" gives labels 0 and 1, so it needs exactly 2 classes, got ",
                      c);
    SEGCORE_CHECK(s.mask_encoding != "rgb" || (s.remap.empty() && !s.reduce_zero_label), origin,
                  ": remap / reduce_zero_label apply to index and binary masks; with mask_encoding \"rgb\" the "
                  "palette order gives the classes directly");
    SEGCORE_CHECK(!s.ignore_color || s.mask_encoding == "rgb", origin,
                  ": ignore_color: only used with mask_encoding \"rgb\"");
    for (const auto& [from, to] : s.remap)
        SEGCORE_CHECK((to >= 0 && to < c) || to == s.ignore_index || (s.reduce_zero_label && to == c), origin,
                      ": remap.", from, ": target ", to, " is neither a class index in [0, ", c,
                      ") nor the ignore_index ", s.ignore_index);
    SEGCORE_CHECK(!s.splits.empty(), origin, ": splits: the dataset defines no split");
    for (const auto& [name, sp] : s.splits) {
        SEGCORE_CHECK(!name.empty(), origin, ": splits: a split name is empty");
        SEGCORE_CHECK(!sp.images.empty() || !sp.list.empty(), origin, ": splits.", name,
                      ": needs \"images\" (a folder) or \"list\" (a list file)");
    }
}

bool split_available(const DatasetSpec& spec, const std::string& name) {
    const auto it = spec.splits.find(name);
    if (it == spec.splits.end()) return false;
    const SplitSpec& s = it->second;
    if (!s.optional) return true;
    return s.list.empty() ? directory_exists(join_path(spec.root, s.images))
                          : file_exists(join_path(spec.root, s.list));
}

std::vector<std::string> split_names(const DatasetSpec& spec) {
    std::vector<std::string> out;
    for (const auto& [name, s] : spec.splits)
        if (split_available(spec, name)) out.push_back(name);
    return out;
}

DatasetSpec load_dataset_spec(const std::string& path) {
    const std::vector<uint8_t> bytes = read_file_bytes(path, int64_t(64) << 20);
    const std::string text(bytes.begin(), bytes.end());
    DatasetSpec s = parse_dataset_spec(text, fs::path(path).parent_path().string(), "dataset spec '" + path + "'");
    s.spec_path = path;
    return s;
}

void save_dataset_spec(const DatasetSpec& s, const std::string& path) {
    validate_dataset_spec(s, "save_dataset_spec('" + path + "')");
    nlohmann::ordered_json j;
    j["name"] = s.name;
    j["format"] = s.format;
    std::string root = s.root;
    if (fs::path(root).is_absolute()) {
        const fs::path base = fs::absolute(fs::path(path)).parent_path();
        const fs::path rel = fs::path(root).lexically_relative(base);
        if (!rel.empty()) root = rel.string();
    }
    j["root"] = root;
    if (!s.description.empty()) j["description"] = s.description;
    j["classes"] = s.classes;
    auto palette = nlohmann::ordered_json::array();
    for (const auto& c : s.palette) palette.push_back({c[0], c[1], c[2]});
    j["palette"] = palette;
    j["ignore_index"] = s.ignore_index;
    j["mask_encoding"] = s.mask_encoding;
    if (s.ignore_color) j["ignore_color"] = {(*s.ignore_color)[0], (*s.ignore_color)[1], (*s.ignore_color)[2]};
    auto remap = nlohmann::ordered_json::object();
    for (const auto& [from, to] : s.remap) remap[std::to_string(from)] = to;
    j["remap"] = remap;
    j["reduce_zero_label"] = s.reduce_zero_label;
    j["image_channels"] = s.image_channels;
    auto splits = nlohmann::ordered_json::object();
    for (const auto& [name, sp] : s.splits) {
        if (!split_available(s, name)) continue;
        nlohmann::ordered_json o;
        o["images"] = sp.images;
        o["masks"] = sp.masks;
        if (!sp.list.empty()) o["list"] = sp.list;
        if (!sp.ids.empty()) o["ids"] = sp.ids;
        o["image_suffix"] = sp.image_suffix;
        o["mask_suffix"] = sp.mask_suffix;
        o["recursive"] = sp.recursive;
        splits[name] = o;
    }
    j["splits"] = splits;
    const std::string text = j.dump(2) + "\n";
    write_file_atomic(path, text.data(), text.size());
}

}  // namespace segcore::data
