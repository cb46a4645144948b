#include "data/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/parallel.h"
#include "data/dataset.h"
#include "data/label_map.h"

namespace segcore::data {

std::vector<double> ClassStats::frequencies() const {
    std::vector<double> f(pixels.size(), 0.0);
    const int64_t labelled = labelled_pixels();
    for (size_t k = 0; k < f.size() && labelled > 0; ++k) f[k] = double(pixels[k]) / double(labelled);
    return f;
}

ClassStats compute_class_stats(const DatasetSpec& spec, const std::string& split) {
    const std::vector<SamplePaths> samples = list_samples(spec, split);
    SEGCORE_CHECK(!samples.empty(), "dataset '", spec.name, "': split '", split, "' has no samples");
    const int64_t c = spec.num_classes();
    const LabelMapper mapper(spec);
    struct PerMask {
        std::vector<int64_t> pixels;
        int64_t total = 0, ignored = 0;
    };
    std::vector<PerMask> per(samples.size());
    parallel_for(0, int64_t(samples.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            const SamplePaths& p = samples[size_t(i)];
            SEGCORE_CHECK(!p.mask.empty(), "dataset '", spec.name, "': split '", split, "' has no masks (sample '",
                          p.id, "')");
            const Mask m = mapper.read(p.mask);
            PerMask& r = per[size_t(i)];
            r.pixels.assign(size_t(c), 0);
            r.total = m.height * m.width;
            for (int32_t v : m.labels) {
                if (v >= 0 && v < c)
                    ++r.pixels[size_t(v)];
                else
                    ++r.ignored;  // read() guarantees anything else is the ignore index
            }
        }
    });
    ClassStats s;
    s.dataset = spec.name;
    s.split = split;
    s.classes = spec.classes;
    s.images = int64_t(samples.size());
    s.pixels.assign(size_t(c), 0);
    s.images_with.assign(size_t(c), 0);
    s.pixels_of_images_with.assign(size_t(c), 0);
    for (const PerMask& r : per) {  // in sample order: integer sums, so the order is only for clarity
        s.total_pixels += r.total;
        s.ignored_pixels += r.ignored;
        for (int64_t k = 0; k < c; ++k) {
            s.pixels[size_t(k)] += r.pixels[size_t(k)];
            if (r.pixels[size_t(k)] > 0) {
                ++s.images_with[size_t(k)];
                s.pixels_of_images_with[size_t(k)] += r.total;
            }
        }
    }
    return s;
}

std::vector<double> median_frequency_weights(const ClassStats& s) {
    const size_t c = s.pixels.size();
    std::vector<double> g(c, 0.0), present;
    for (size_t k = 0; k < c; ++k) {
        if (s.pixels[k] == 0) continue;
        g[k] = double(s.pixels[k]) / double(s.pixels_of_images_with[k]);
        present.push_back(g[k]);
    }
    std::vector<double> w(c, 0.0);
    if (present.empty()) return w;
    std::sort(present.begin(), present.end());
    const size_t n = present.size();
    const double median = n % 2 ? present[n / 2] : 0.5 * (present[n / 2 - 1] + present[n / 2]);
    for (size_t k = 0; k < c; ++k)
        if (g[k] > 0) w[k] = median / g[k];
    return w;
}

std::vector<double> inverse_sqrt_weights(const ClassStats& s) {
    const std::vector<double> f = s.frequencies();
    std::vector<double> w(f.size(), 0.0);
    double sum = 0;
    int n = 0;
    for (size_t k = 0; k < f.size(); ++k) {
        if (f[k] <= 0) continue;
        w[k] = 1.0 / std::sqrt(f[k]);
        sum += w[k];
        ++n;
    }
    for (double& x : w) x = n ? x * n / sum : 0.0;
    return w;
}

std::vector<double> enet_weights(const ClassStats& s, double c) {
    const std::vector<double> f = s.frequencies();
    std::vector<double> w(f.size(), 0.0);
    for (size_t k = 0; k < f.size(); ++k)
        if (f[k] > 0) w[k] = 1.0 / std::log(c + f[k]);
    return w;
}

std::string weights_json_array(const std::vector<double>& w, int decimals) {
    std::string s = "[";
    char buf[64];
    for (size_t k = 0; k < w.size(); ++k) {
        std::snprintf(buf, sizeof buf, "%s%.*f", k ? ", " : "", decimals, w[k]);
        s += buf;
    }
    return s + "]";
}

std::string stats_to_text(const ClassStats& s) {
    std::string out;
    char buf[256];
    std::snprintf(buf, sizeof buf, "dataset '%s', split '%s': %lld masks, %lld pixels, %.2f%% ignored\n",
                  s.dataset.c_str(), s.split.c_str(), (long long)s.images, (long long)s.total_pixels,
                  s.total_pixels ? 100.0 * double(s.ignored_pixels) / double(s.total_pixels) : 0.0);
    out += buf;
    const std::vector<double> f = s.frequencies(), mf = median_frequency_weights(s), is = inverse_sqrt_weights(s),
                              en = enet_weights(s);
    std::snprintf(buf, sizeof buf, "  %5s  %-20s %12s %9s %7s %9s %9s %9s\n", "class", "name", "pixels", "freq %",
                  "images", "med-freq", "inv-sqrt", "enet");
    out += buf;
    for (size_t k = 0; k < s.pixels.size(); ++k) {
        std::snprintf(buf, sizeof buf, "  %5zu  %-20.20s %12lld %9.3f %7lld %9.4f %9.4f %9.4f\n", k,
                      s.classes[k].c_str(), (long long)s.pixels[k], 100.0 * f[k], (long long)s.images_with[k], mf[k],
                      is[k], en[k]);
        out += buf;
    }
    out += "class weights (JSON arrays, class order):\n";
    out += "  median_frequency: " + weights_json_array(mf) + "\n";
    out += "  inverse_sqrt:     " + weights_json_array(is) + "\n";
    out += "  enet:             " + weights_json_array(en) + "\n";
    return out;
}

std::string stats_to_json_text(const ClassStats& s) {
    nlohmann::ordered_json j;
    j["dataset"] = s.dataset;
    j["split"] = s.split;
    j["images"] = s.images;
    j["pixels"] = s.total_pixels;
    j["ignored_pixels"] = s.ignored_pixels;
    const std::vector<double> f = s.frequencies();
    auto classes = nlohmann::ordered_json::array();
    for (size_t k = 0; k < s.pixels.size(); ++k)
        classes.push_back({{"index", k},
                           {"name", s.classes[k]},
                           {"pixels", s.pixels[k]},
                           {"frequency", f[k]},
                           {"images", s.images_with[k]},
                           {"pixels_of_images_with", s.pixels_of_images_with[k]}});
    j["classes"] = classes;
    j["class_weights"] = {{"median_frequency", median_frequency_weights(s)},
                          {"inverse_sqrt", inverse_sqrt_weights(s)},
                          {"enet", enet_weights(s)}};
    return j.dump(2);
}

}  // namespace segcore::data
