#include "data/lint.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/parallel.h"
#include "data/dataset.h"
#include "data/file_util.h"
#include "data/image_io.h"
#include "data/label_map.h"

namespace segcore::data {

namespace {

// What one sample's files turned out to be; filled by the parallel pass, merged in order after.
struct SampleCheck {
    bool image_missing = false, mask_missing = false;
    std::string image_error, mask_error;
    int64_t image_h = 0, image_w = 0, mask_h = 0, mask_w = 0;
    bool colour_mask = false;
    std::string mask_kind;
    std::map<int64_t, int64_t> bad_values;
    std::vector<int64_t> class_pixels;
    int64_t ignored = 0;
};

void check_sample(const SamplePaths& p, const LabelMapper& mapper, const DatasetSpec& spec, SampleCheck& r) {
    if (!file_exists(p.image)) {
        r.image_missing = true;
    } else {
        try {
            const Image img = read_image(p.image, 0);
            r.image_h = img.height;
            r.image_w = img.width;
        } catch (const Error& e) {
            r.image_error = e.message();
        }
    }
    if (p.mask.empty()) return;
    if (!file_exists(p.mask)) {
        r.mask_missing = true;
        return;
    }
    try {
        DecodedMask d = mapper.decode(p.mask);
        r.mask_kind = d.kind;
        if (d.colour_for_index) {
            r.colour_mask = true;
            return;
        }
        r.mask_h = d.labels.height;
        r.mask_w = d.labels.width;
        r.bad_values = std::move(d.bad_values);
        const int64_t c = spec.num_classes();
        r.class_pixels.assign(size_t(c), 0);
        for (int32_t v : d.labels.labels) {
            if (v >= 0 && v < c)
                ++r.class_pixels[size_t(v)];
            else if (v == spec.ignore_index)
                ++r.ignored;
        }
    } catch (const Error& e) {
        r.mask_error = e.message();
    }
}

class IssueBuilder {
public:
    IssueBuilder(std::string severity, std::string kind, int max_examples) : max_examples_(max_examples) {
        issue_.severity = std::move(severity);
        issue_.kind = std::move(kind);
    }
    void add(const std::string& example, int64_t count = 1) {
        issue_.count += count;
        if (int(issue_.examples.size()) < max_examples_) issue_.examples.push_back(example);
    }
    bool empty() const { return issue_.count == 0; }
    LintIssue finish(const std::string& message) {
        issue_.message = message;
        return issue_;
    }
    int64_t count() const { return issue_.count; }

private:
    LintIssue issue_;
    int max_examples_;
};

struct BadValue {
    int64_t pixels = 0, files = 0;
    std::vector<std::string> examples;
};

}  // namespace

int64_t LintReport::errors() const {
    int64_t n = 0;
    for (const auto& i : issues) n += i.severity == "error";
    return n;
}

int64_t LintReport::warnings() const {
    int64_t n = 0;
    for (const auto& i : issues) n += i.severity == "warning";
    return n;
}

LintReport lint_split(const DatasetSpec& spec, const std::string& split, const LintOptions& options) {
    LintReport report;
    report.dataset = spec.name;
    report.split = split;
    const int64_t c = spec.num_classes();
    report.class_pixels.assign(size_t(c), 0);
    std::vector<SamplePaths> samples;
    try {
        samples = list_samples(spec, split);
    } catch (const Error& e) {
        report.issues.push_back({"error", "split", e.message(), 1, {}});
        return report;
    }
    report.samples = int64_t(samples.size());
    if (samples.empty()) {
        report.issues.push_back({"error", "empty_split", "the split lists no samples", 0, {}});
        return report;
    }

    const LabelMapper mapper(spec);
    std::vector<SampleCheck> checks(samples.size());
    parallel_for(0, int64_t(samples.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) check_sample(samples[size_t(i)], mapper, spec, checks[size_t(i)]);
    });

    const int mx = options.max_examples;
    IssueBuilder missing_image("error", "missing_image", mx), missing_mask("error", "missing_mask", mx),
        bad_image("error", "unreadable_image", mx), bad_mask("error", "unreadable_mask", mx),
        colour("error", "colour_mask", mx), size("error", "size_mismatch", mx);
    std::map<int64_t, BadValue> bad_values;
    std::vector<int64_t> images_with(size_t(c), 0);
    for (size_t i = 0; i < samples.size(); ++i) {
        const SamplePaths& p = samples[i];
        const SampleCheck& r = checks[i];
        if (r.image_missing) missing_image.add(p.image);
        if (!r.image_error.empty()) bad_image.add(r.image_error);
        if (r.mask_missing) missing_mask.add(p.mask);
        if (!r.mask_error.empty()) bad_mask.add(r.mask_error);
        if (!r.mask_kind.empty()) ++report.mask_kinds[r.mask_kind];
        if (r.colour_mask) colour.add(p.mask + " (" + r.mask_kind + ")");
        if (r.image_h && r.mask_h && (r.image_h != r.mask_h || r.image_w != r.mask_w))
            size.add(p.image + " is " + std::to_string(r.image_w) + "x" + std::to_string(r.image_h) + ", " + p.mask +
                     " is " + std::to_string(r.mask_w) + "x" + std::to_string(r.mask_h));
        for (const auto& [v, n] : r.bad_values) {
            BadValue& bv = bad_values[v];
            bv.pixels += n;
            ++bv.files;
            if (int(bv.examples.size()) < mx) bv.examples.push_back(p.mask + " (" + std::to_string(n) + " pixels)");
        }
        if (!r.class_pixels.empty()) {
            for (int64_t k = 0; k < c; ++k) {
                report.class_pixels[size_t(k)] += r.class_pixels[size_t(k)];
                images_with[size_t(k)] += r.class_pixels[size_t(k)] > 0;
            }
            report.ignored_pixels += r.ignored;
            report.mask_pixels += r.mask_h * r.mask_w;
        }
    }
    const auto n_str = [](int64_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); };
    if (!missing_image.empty())
        report.issues.push_back(missing_image.finish(n_str(missing_image.count(), "image") + " listed but not found"));
    if (!missing_mask.empty())
        report.issues.push_back(
            missing_mask.finish(n_str(missing_mask.count(), "mask") + " not found for listed images"));
    if (!bad_image.empty())
        report.issues.push_back(bad_image.finish(n_str(bad_image.count(), "image") + " cannot be read"));
    if (!bad_mask.empty())
        report.issues.push_back(bad_mask.finish(n_str(bad_mask.count(), "mask") + " cannot be read"));
    if (!colour.empty())
        report.issues.push_back(colour.finish(
            n_str(colour.count(), "mask") + (colour.count() == 1 ? " is a colour image" : " are colour images") +
            " but mask_encoding is \"" + spec.mask_encoding + "\" (one class index per pixel expected)"));
    if (!size.empty())
        report.issues.push_back(size.finish(n_str(size.count(), "image") +
                                            (size.count() == 1 ? " differs" : " differ") + " in size from its mask"));
    for (const auto& [v, bv] : bad_values) {
        LintIssue issue;
        issue.severity = "error";
        issue.kind = "labels_out_of_range";
        std::map<int64_t, int64_t> one{{v, bv.pixels}};
        issue.message = describe_bad_values(one, mapper) + " in " + n_str(bv.files, "file") + "; valid labels are " +
                        mapper.valid_range();
        issue.count = bv.pixels;
        issue.examples = bv.examples;
        report.issues.push_back(std::move(issue));
    }
    if (report.mask_pixels > 0) {
        for (int64_t k = 0; k < c; ++k) {
            if (report.class_pixels[size_t(k)] > 0) continue;
            report.issues.push_back(
                {"warning",
                 "class_never_occurs",
                 "class " + std::to_string(k) + " '" + spec.classes[size_t(k)] + "' never occurs in this split",
                 0,
                 {}});
        }
    }
    IssueBuilder orphans("warning", "orphan_mask", mx);
    for (const auto& m : unpaired_masks(spec, split, samples)) orphans.add(m);
    if (!orphans.empty())
        report.issues.push_back(orphans.finish(n_str(orphans.count(), "mask") +
                                               (orphans.count() == 1 ? " belongs" : " belong") + " to no image"));
    return report;
}

std::vector<LintReport> lint_dataset(const DatasetSpec& spec, const LintOptions& options) {
    std::vector<LintReport> out;
    for (const std::string& name : split_names(spec)) out.push_back(lint_split(spec, name, options));
    return out;
}

std::string LintReport::to_text() const {
    std::string s = "dataset '" + dataset + "', split '" + split + "': " + std::to_string(samples) + " samples\n";
    for (const auto& [kind, n] : mask_kinds) s += "  masks: " + std::to_string(n) + " x " + kind + "\n";
    if (mask_pixels > 0) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "  pixels: %lld in masks, %.2f%% ignored\n", (long long)mask_pixels,
                      100.0 * double(ignored_pixels) / double(mask_pixels));
        s += buf;
    }
    for (const auto& i : issues) {
        s += "  " + i.severity + " [" + i.kind + "] " + i.message + "\n";
        for (const auto& e : i.examples) s += "      " + e + "\n";
        if (i.kind != "labels_out_of_range" && i.count > int64_t(i.examples.size()) && !i.examples.empty())
            s += "      ... and " + std::to_string(i.count - int64_t(i.examples.size())) + " more\n";
    }
    s += "  " + std::to_string(errors()) + " error(s), " + std::to_string(warnings()) + " warning(s)\n";
    return s;
}

std::string LintReport::to_json_text() const {
    nlohmann::ordered_json j;
    j["dataset"] = dataset;
    j["split"] = split;
    j["samples"] = samples;
    j["errors"] = errors();
    j["warnings"] = warnings();
    j["mask_kinds"] = mask_kinds;
    j["mask_pixels"] = mask_pixels;
    j["ignored_pixels"] = ignored_pixels;
    j["class_pixels"] = class_pixels;
    auto list = nlohmann::ordered_json::array();
    for (const auto& i : issues) {
        nlohmann::ordered_json o;
        o["severity"] = i.severity;
        o["kind"] = i.kind;
        o["message"] = i.message;
        o["count"] = i.count;
        o["examples"] = i.examples;
        list.push_back(o);
    }
    j["issues"] = list;
    return j.dump(2);
}

}  // namespace segcore::data
