// Transforms <-> JSON, strictly validated: unknown types and keys, wrong types and out-of-range
// values are errors that name the JSON path and list what is allowed.
#include <algorithm>
#include <climits>
#include <functional>
#include <map>

#include "core/error.h"
#include "data/transforms.h"

namespace segcore::data {

using nlohmann::json;

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

std::string shown(const json& v) {
    std::string s = v.dump();
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// Reads one transform object: checks the keys up front, then typed getters with defaults.
class Reader {
public:
    Reader(const json& j, std::string path, const std::string& type, std::vector<std::string> keys)
        : j_(j), path_(std::move(path)) {
        keys.insert(keys.begin(), "type");
        for (const auto& [k, v] : j.items())
            SEGCORE_CHECK(std::find(keys.begin(), keys.end(), k) != keys.end(), path_, ".", k, ": unknown key for \"",
                          type, "\"; allowed keys: ", join(keys));
    }
    bool has(const char* key) const { return j_.contains(key); }
    std::string at(const char* key) const { return path_ + "." + key; }

    double number(const char* key, double def, double lo, double hi) const {
        if (!has(key)) return def;
        const json& v = j_[key];
        SEGCORE_CHECK(v.is_number(), at(key), ": expected a number, got ", shown(v));
        const double d = v.get<double>();
        SEGCORE_CHECK(d >= lo && d <= hi, at(key), ": ", d, " is out of range [", lo, ", ", hi, "]");
        return d;
    }
    double probability(const char* key = "p", double def = 1.0) const { return number(key, def, 0.0, 1.0); }
    int64_t integer(const char* key, int64_t def, int64_t lo) const {
        if (!has(key)) return def;
        const json& v = j_[key];
        SEGCORE_CHECK(v.is_number_integer(), at(key), ": expected an integer, got ", shown(v));
        const int64_t i = v.get<int64_t>();
        SEGCORE_CHECK(i >= lo, at(key), ": ", i, " must be at least ", lo);
        return i;
    }
    bool boolean(const char* key, bool def) const {
        if (!has(key)) return def;
        SEGCORE_CHECK(j_[key].is_boolean(), at(key), ": expected true or false, got ", shown(j_[key]));
        return j_[key].get<bool>();
    }
    std::string choice(const char* key, const std::string& def, const std::vector<std::string>& options) const {
        if (!has(key)) return def;
        const json& v = j_[key];
        SEGCORE_CHECK(v.is_string() && std::find(options.begin(), options.end(), v.get<std::string>()) != options.end(),
                      at(key), ": expected one of ", join(options), "; got ", shown(v));
        return v.get<std::string>();
    }
    std::vector<float> floats(const char* key, std::vector<float> def, bool positive = false) const {
        if (!has(key)) return def;
        const json& v = j_[key];
        std::vector<float> out;
        if (v.is_number()) {
            out.push_back(v.get<float>());
        } else {
            SEGCORE_CHECK(v.is_array() && !v.empty(), at(key),
                          ": expected a number or a non-empty array of numbers, got ", shown(v));
            for (const auto& e : v) {
                SEGCORE_CHECK(e.is_number(), at(key), ": expected numbers, got ", shown(e));
                out.push_back(e.get<float>());
            }
        }
        if (positive)
            for (float f : out) SEGCORE_CHECK(f > 0, at(key), ": values must be positive, got ", f);
        return out;
    }
    // A number x -> around(x), or [lo, hi] with lo <= hi, both within [min, max].
    Range range(const char* key, Range def, double min, double max, const std::function<Range(double)>& around) const {
        if (!has(key)) return def;
        const json& v = j_[key];
        Range r;
        if (v.is_number()) {
            const double x = v.get<double>();
            SEGCORE_CHECK(x >= 0, at(key), ": ", x, " must not be negative");
            r = around(x);
        } else {
            SEGCORE_CHECK(v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number(), at(key),
                          ": expected a number or [min, max], got ", shown(v));
            r = {v[0].get<double>(), v[1].get<double>()};
            SEGCORE_CHECK(r.lo <= r.hi, at(key), ": min ", r.lo, " is larger than max ", r.hi);
        }
        SEGCORE_CHECK(r.lo >= min && r.hi <= max, at(key), ": [", r.lo, ", ", r.hi, "] is out of range [", min, ", ",
                      max, "]");
        return r;
    }
    // [height, width] (or one integer for a square), positive.
    void size(const char* key, int64_t& h, int64_t& w, bool required) const {
        if (!has(key)) {
            SEGCORE_CHECK(!required, path_, ": missing required key \"", key, "\"");
            return;
        }
        const json& v = j_[key];
        if (v.is_number_integer()) {
            h = w = v.get<int64_t>();
        } else {
            SEGCORE_CHECK(v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer(),
                          at(key), ": expected [height, width] or one integer, got ", shown(v));
            h = v[0].get<int64_t>();
            w = v[1].get<int64_t>();
        }
        SEGCORE_CHECK(h > 0 && w > 0, at(key), ": sizes must be positive, got ", shown(v));
    }

private:
    const json& j_;
    std::string path_;
};

Range factor_range(double x) { return {std::max(0.0, 1.0 - x), 1.0 + x}; }
Range symmetric(double x) { return {-x, x}; }
Range exact(double x) { return {x, x}; }

json range_json(const Range& r) { return json::array({r.lo, r.hi}); }

using Factory = std::function<TransformPtr(const Reader&, const TransformContext&)>;
struct Entry {
    std::vector<std::string> keys;
    Factory make;
};

const std::map<std::string, Entry>& registry() {
    static const std::map<std::string, Entry> r = {
        {"resize",
         {{"size", "short_side", "max_long_side"},
          [](const Reader& rd, const TransformContext&) {
              auto t = std::make_shared<Resize>();
              rd.size("size", t->height, t->width, false);
              t->short_side = rd.integer("short_side", 0, 1);
              t->max_long_side = rd.integer("max_long_side", 0, 1);
              SEGCORE_CHECK((t->height > 0) != (t->short_side > 0), rd.at("size"),
                            ": give exactly one of \"size\" and \"short_side\"");
              SEGCORE_CHECK(t->max_long_side == 0 || t->short_side > 0, rd.at("max_long_side"),
                            ": only applies together with \"short_side\"");
              return t;
          }}},
        {"random_scale",
         {{"min", "max"},
          [](const Reader& rd, const TransformContext&) {
              auto t = std::make_shared<RandomScale>();
              t->min = rd.number("min", 0.5, 1e-3, 1e3);
              t->max = rd.number("max", 2.0, 1e-3, 1e3);
              SEGCORE_CHECK(t->min <= t->max, rd.at("min"), ": ", t->min, " is larger than max ", t->max);
              return t;
          }}},
        {"random_crop",
         {{"size", "pad_value", "ignore_index", "cat_max_ratio"},
          [](const Reader& rd, const TransformContext& ctx) {
              auto t = std::make_shared<RandomCrop>();
              rd.size("size", t->height, t->width, true);
              t->pad_value = rd.floats("pad_value", {0.f});
              t->ignore_index = int32_t(rd.integer("ignore_index", ctx.ignore_index, INT32_MIN));
              t->cat_max_ratio = rd.number("cat_max_ratio", 1.0, 0.0, 1.0);
              return t;
          }}},
        {"pad",
         {{"size", "size_divisor", "pad_value", "ignore_index"},
          [](const Reader& rd, const TransformContext& ctx) {
              auto t = std::make_shared<Pad>();
              rd.size("size", t->height, t->width, false);
              t->size_divisor = rd.integer("size_divisor", 0, 1);
              SEGCORE_CHECK(t->height > 0 || t->size_divisor > 0, rd.at("size"),
                            ": give \"size\", \"size_divisor\" or both");
              t->pad_value = rd.floats("pad_value", {0.f});
              t->ignore_index = int32_t(rd.integer("ignore_index", ctx.ignore_index, INT32_MIN));
              return t;
          }}},
        {"hflip",
         {{"p"},
          [](const Reader& rd, const TransformContext&) {
              auto t = std::make_shared<Flip>();
              t->p = rd.probability("p", 0.5);
              return t;
          }}},
        {"vflip",
         {{"p"},
          [](const Reader& rd, const TransformContext&) {
              auto t = std::make_shared<Flip>();
              t->vertical = true;
              t->p = rd.probability("p", 0.5);
              return t;
          }}},
        {"random_rotate",
         {{"degrees", "p", "pad_value", "ignore_index"},
          [](const Reader& rd, const TransformContext& ctx) {
              auto t = std::make_shared<RandomRotate>();
              t->degrees = rd.range("degrees", {-10, 10}, -360, 360, symmetric);
              t->p = rd.probability("p", 1.0);
              t->pad_value = rd.floats("pad_value", {0.f});
              t->ignore_index = int32_t(rd.integer("ignore_index", ctx.ignore_index, INT32_MIN));
              return t;
          }}},
        {"color_jitter",
         {{"brightness", "contrast", "saturation", "hue", "random_order", "p"},
          [](const Reader& rd, const TransformContext&) {
              auto t = std::make_shared<ColorJitter>();
              t->brightness = rd.range("brightness", {1, 1}, 0, 1e3, factor_range);
              t->contrast = rd.range("contrast", {1, 1}, 0, 1e3, factor_range);
              t->saturation = rd.range("saturation", {1, 1}, 0, 1e3, factor_range);
              t->hue = rd.range("hue", {0, 0}, -0.5, 0.5, symmetric);
              t->random_order = rd.boolean("random_order", true);
              t->p = rd.probability("p", 1.0);
              return t;
          }}},
        {"gaussian_blur",
         {{"sigma", "kernel_size", "p"},
          [](const Reader& rd, const TransformContext&) {
              auto t = std::make_shared<GaussianBlur>();
              t->sigma = rd.range("sigma", {0.1, 2.0}, 1e-3, 100, exact);
              SEGCORE_CHECK(t->sigma.lo > 0, rd.at("sigma"), ": must be positive");
              t->kernel_size = rd.integer("kernel_size", 0, 0);
              SEGCORE_CHECK(t->kernel_size == 0 || t->kernel_size % 2 == 1, rd.at("kernel_size"), ": ", t->kernel_size,
                            " must be odd (or 0 for 2 * ceil(3 sigma) + 1)");
              t->p = rd.probability("p", 1.0);
              return t;
          }}},
        {"gaussian_noise",
         {{"std", "p"},
          [](const Reader& rd, const TransformContext&) {
              auto t = std::make_shared<GaussianNoise>();
              t->stddev = rd.range("std", {0, 10}, 0, 255, exact);
              t->p = rd.probability("p", 1.0);
              return t;
          }}},
        {"normalize",
         {{"mean", "std", "scale", "order"},
          [](const Reader& rd, const TransformContext&) {
              auto t = std::make_shared<Normalize>();
              t->mean = rd.floats("mean", t->mean);
              t->stddev = rd.floats("std", t->stddev, true);
              t->unit_scale = rd.choice("scale", "0-1", {"0-1", "0-255"}) == "0-1";
              t->bgr = rd.choice("order", "rgb", {"rgb", "bgr"}) == "bgr";
              return t;
          }}},
    };
    return r;
}

std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& [k, v] : registry()) out.push_back(k);
    return out;
}

}  // namespace

std::vector<std::string> transform_types() { return names(); }

TransformPtr transform_from_json(const json& j, const TransformContext& ctx, const std::string& path) {
    SEGCORE_CHECK(j.is_object(), path, ": expected an object with \"type\", got ", shown(j));
    SEGCORE_CHECK(j.contains("type") && j["type"].is_string(), path, ".type: missing or not a string; one of ",
                  join(names()));
    const std::string type = j["type"].get<std::string>();
    const auto it = registry().find(type);
    SEGCORE_CHECK(it != registry().end(), path, ".type: unknown transform \"", type,
                  "\"; allowed types: ", join(names()));
    const Reader rd(j, path, type, it->second.keys);
    return it->second.make(rd, ctx);
}

Compose Compose::from_json(const json& j, const TransformContext& ctx, const std::string& path) {
    SEGCORE_CHECK(j.is_array(), path, ": expected an array of transforms, got ", shown(j));
    std::vector<TransformPtr> ts;
    for (size_t i = 0; i < j.size(); ++i)
        ts.push_back(transform_from_json(j[i], ctx, path + "[" + std::to_string(i) + "]"));
    return Compose(std::move(ts));
}

void Compose::apply(Sample& sample, SampleRng& rng) const {
    for (const auto& t : transforms_) t->apply(sample, rng);
}

json Compose::to_json() const {
    json out = json::array();
    for (const auto& t : transforms_) out.push_back(t->to_json());
    return out;
}

// ---- to_json: every key written, so a saved pipeline does not depend on today's defaults ----

json Resize::to_json() const {
    json j{{"type", type()}};
    if (short_side > 0) {
        j["short_side"] = short_side;
        if (max_long_side > 0) j["max_long_side"] = max_long_side;
    } else {
        j["size"] = {height, width};
    }
    return j;
}
json RandomScale::to_json() const { return {{"type", type()}, {"min", min}, {"max", max}}; }
json RandomCrop::to_json() const {
    return {{"type", type()},
            {"size", {height, width}},
            {"pad_value", pad_value},
            {"ignore_index", ignore_index},
            {"cat_max_ratio", cat_max_ratio}};
}
json Pad::to_json() const {
    json j{{"type", type()}, {"pad_value", pad_value}, {"ignore_index", ignore_index}};
    if (height > 0) j["size"] = {height, width};
    if (size_divisor > 0) j["size_divisor"] = size_divisor;
    return j;
}
json Flip::to_json() const { return {{"type", type()}, {"p", p}}; }
json RandomRotate::to_json() const {
    return {{"type", type()},
            {"degrees", range_json(degrees)},
            {"p", p},
            {"pad_value", pad_value},
            {"ignore_index", ignore_index}};
}
json ColorJitter::to_json() const {
    return {{"type", type()},
            {"brightness", range_json(brightness)},
            {"contrast", range_json(contrast)},
            {"saturation", range_json(saturation)},
            {"hue", range_json(hue)},
            {"random_order", random_order},
            {"p", p}};
}
json GaussianBlur::to_json() const {
    return {{"type", type()}, {"sigma", range_json(sigma)}, {"kernel_size", kernel_size}, {"p", p}};
}
json GaussianNoise::to_json() const { return {{"type", type()}, {"std", range_json(stddev)}, {"p", p}}; }
json Normalize::to_json() const {
    return {{"type", type()},
            {"mean", mean},
            {"std", stddev},
            {"scale", unit_scale ? "0-1" : "0-255"},
            {"order", bgr ? "bgr" : "rgb"}};
}

// ---- named pipelines ----

json standard_train_transforms_json(int64_t crop_height, int64_t crop_width, int32_t ignore_index) {
    return json::array({
        {{"type", "random_scale"}, {"min", 0.5}, {"max", 2.0}},
        {{"type", "random_crop"}, {"size", {crop_height, crop_width}}, {"ignore_index", ignore_index}},
        {{"type", "hflip"}, {"p", 0.5}},
        {{"type", "color_jitter"},
         {"brightness", 0.2},
         {"contrast", 0.2},
         {"saturation", 0.2},
         {"hue", 0.05},
         {"p", 0.8}},
        eval_transforms_json()[0],
    });
}

json eval_transforms_json() {
    return json::array({{{"type", "normalize"},
                         {"mean", {0.485, 0.456, 0.406}},
                         {"std", {0.229, 0.224, 0.225}},
                         {"scale", "0-1"},
                         {"order", "rgb"}}});
}

Compose standard_train_transforms(int64_t crop_height, int64_t crop_width, int32_t ignore_index) {
    TransformContext ctx;
    ctx.ignore_index = ignore_index;
    return Compose::from_json(standard_train_transforms_json(crop_height, crop_width, ignore_index), ctx,
                              "standard_train_transforms");
}

Compose eval_transforms() { return Compose::from_json(eval_transforms_json(), {}, "eval_transforms"); }

}  // namespace segcore::data
