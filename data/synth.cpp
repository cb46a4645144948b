// Procedural segmentation scenes (see synth.h).
#include "data/synth.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "data/image_io.h"
#include "data/sample_rng.h"

namespace segcore::data {

namespace {

constexpr int kBackgrounds = 2;
enum ShapeKind { kCircle, kRectangle, kTriangle, kStar, kEllipse, kHexagon, kRing, kCross, kNumKinds };
const char* const kClassNames[kSynthMaxClasses] = {"field", "wall",    "circle",  "rectangle", "triangle",
                                                   "star",  "ellipse", "hexagon", "ring",      "cross"};
// Base colour of each class (the palette too); instances vary around it.
const std::array<uint8_t, 3> kColours[kSynthMaxClasses] = {
    {{90, 140, 60}},  {{150, 150, 170}}, {{220, 50, 40}},  {{40, 80, 220}}, {{240, 200, 30}},
    {{200, 60, 200}}, {{30, 200, 200}},  {{250, 130, 20}}, {{120, 60, 20}}, {{250, 250, 250}}};

struct Rgb {
    float r, g, b;
};

Rgb jitter(const std::array<uint8_t, 3>& base, SampleRng& rng, float amount) {
    return {float(base[0]) + float(rng.uniform(-amount, amount)), float(base[1]) + float(rng.uniform(-amount, amount)),
            float(base[2]) + float(rng.uniform(-amount, amount))};
}

// Smooth value noise in [0, 1]: random values on a lattice, smoothstep-interpolated, two octaves.
class ValueNoise {
public:
    ValueNoise(SampleRng& rng, int64_t h, int64_t w, double cell) : cell_(cell) {
        gw_ = int64_t(double(w) / cell) + 2;
        gh_ = int64_t(double(h) / cell) + 2;
        grid_.resize(size_t(gw_ * gh_));
        for (float& v : grid_) v = float(rng.uniform());
    }
    float at(double x, double y) const {
        const double fx = x / cell_, fy = y / cell_;
        const int64_t x0 = int64_t(fx), y0 = int64_t(fy);
        const double tx = smooth(fx - double(x0)), ty = smooth(fy - double(y0));
        auto g = [&](int64_t yy, int64_t xx) { return double(grid_[size_t(yy * gw_ + xx)]); };
        const double top = g(y0, x0) + tx * (g(y0, x0 + 1) - g(y0, x0));
        const double bot = g(y0 + 1, x0) + tx * (g(y0 + 1, x0 + 1) - g(y0 + 1, x0));
        return float(top + ty * (bot - top));
    }

private:
    static double smooth(double t) { return t * t * (3 - 2 * t); }
    double cell_;
    int64_t gw_ = 0, gh_ = 0;
    std::vector<float> grid_;
};

// Even-odd point in polygon.
bool in_polygon(const std::vector<std::array<double, 2>>& poly, double x, double y) {
    bool inside = false;
    for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
        const auto& a = poly[i];
        const auto& b = poly[j];
        if ((a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0]) inside = !inside;
    }
    return inside;
}

struct Shape {
    int kind = kCircle;
    double cx = 0, cy = 0, r = 1, angle = 0, aspect = 1;
    std::vector<std::array<double, 2>> poly;

    void build() {
        auto regular = [&](int n, double r_outer, double r_inner) {
            const int pts = r_inner > 0 ? 2 * n : n;
            for (int k = 0; k < pts; ++k) {
                const double rr = (r_inner > 0 && k % 2 == 1) ? r_inner : r_outer;
                const double t = angle + 2 * M_PI * k / pts;
                poly.push_back({cx + rr * std::cos(t), cy + rr * std::sin(t)});
            }
        };
        if (kind == kTriangle) regular(3, r, 0);
        if (kind == kStar) regular(5, r, 0.45 * r);
        if (kind == kHexagon) regular(6, r, 0);
    }
    // Point in this shape's rotated frame.
    void local(double x, double y, double& u, double& v) const {
        const double dx = x - cx, dy = y - cy, c = std::cos(angle), s = std::sin(angle);
        u = c * dx + s * dy;
        v = -s * dx + c * dy;
    }
    bool contains(double x, double y) const {
        double u, v;
        switch (kind) {
            case kCircle:
                return (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
            case kRing: {
                const double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                return d2 < r * r && d2 > 0.36 * r * r;
            }
            case kRectangle:
                local(x, y, u, v);
                return std::abs(u) < r && std::abs(v) < r * aspect;
            case kEllipse:
                local(x, y, u, v);
                return (u * u) / (r * r) + (v * v) / (r * r * aspect * aspect) < 1;
            case kCross:
                local(x, y, u, v);
                return (std::abs(u) < r && std::abs(v) < 0.3 * r) || (std::abs(v) < r && std::abs(u) < 0.3 * r);
            default:
                return in_polygon(poly, x, y);
        }
    }
};

void check_options(const SynthOptions& o) {
    SEGCORE_CHECK(o.classes >= 3 && o.classes <= kSynthMaxClasses, "synth: classes must be in [3, ", kSynthMaxClasses,
                  "] (2 backgrounds + shape kinds), got ", o.classes);
    SEGCORE_CHECK(o.height >= 8 && o.width >= 8, "synth: images must be at least 8x8, got ", o.height, "x", o.width);
    SEGCORE_CHECK(o.height <= 8192 && o.width <= 8192, "synth: images larger than 8192 pixels a side are refused, got ",
                  o.height, "x", o.width);
    SEGCORE_CHECK(o.train >= 0 && o.val >= 0, "synth: scene counts must not be negative");
    SEGCORE_CHECK(o.min_shapes >= 1 && o.min_shapes <= o.max_shapes, "synth: need 1 <= min_shapes <= max_shapes, got ",
                  o.min_shapes, " and ", o.max_shapes);
    SEGCORE_CHECK(o.noise_std >= 0, "synth: noise_std must not be negative");
}

}  // namespace

std::vector<std::string> synth_class_names(int64_t classes) {
    SEGCORE_CHECK(classes >= 3 && classes <= kSynthMaxClasses, "synth: classes must be in [3, ", kSynthMaxClasses, "]");
    return {kClassNames, kClassNames + classes};
}

Palette synth_palette(int64_t classes) {
    SEGCORE_CHECK(classes >= 3 && classes <= kSynthMaxClasses, "synth: classes must be in [3, ", kSynthMaxClasses, "]");
    return {kColours, kColours + classes};
}

SynthScene synth_scene(const SynthOptions& opt, int64_t split, int64_t index) {
    check_options(opt);
    SampleRng rng(opt.seed, split, index);
    const int64_t h = opt.height, w = opt.width, shape_kinds = opt.classes - kBackgrounds;
    const double size = double(std::min(h, w));

    // Background: a wavy horizon; which texture is on top is random.
    const bool wall_on_top = rng.bernoulli(0.5);
    const double horizon = double(h) * rng.uniform(0.3, 0.7), amp = double(h) * rng.uniform(0.02, 0.12);
    const double freq = rng.uniform(0.5, 3.0) * 2 * M_PI / double(w), phase = rng.uniform(0, 2 * M_PI);
    const ValueNoise field_noise(rng, h, w, std::max(4.0, size * rng.uniform(0.08, 0.2)));
    const Rgb field = jitter(kColours[0], rng, 30), wall = jitter(kColours[1], rng, 30);
    const Rgb wall_dark{wall.r * 0.6f, wall.g * 0.6f, wall.b * 0.6f};
    const double stripe_angle = rng.uniform(0, M_PI), stripe_period = size * rng.uniform(0.06, 0.15);

    std::vector<float> rgb(size_t(h * w * 3));
    std::vector<int32_t> labels(size_t(h * w));
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            const double px = double(x) + 0.5, py = double(y) + 0.5;
            const bool top = py < horizon + amp * std::sin(freq * px + phase);
            const int32_t cls = (top == wall_on_top) ? 1 : 0;
            float* p = rgb.data() + (y * w + x) * 3;
            if (cls == 0) {
                const float n = 0.55f + 0.9f * field_noise.at(px, py);
                p[0] = field.r * n, p[1] = field.g * n, p[2] = field.b * n;
            } else {
                const double t = px * std::cos(stripe_angle) + py * std::sin(stripe_angle);
                const bool dark = std::fmod(t / stripe_period + 1000.0, 1.0) < 0.5;
                const Rgb& c = dark ? wall_dark : wall;
                p[0] = c.r, p[1] = c.g, p[2] = c.b;
            }
            labels[size_t(y * w + x)] = cls;
        }
    }

    // Shapes, later ones on top; the last is this scene's guaranteed class.
    const int64_t count = rng.randint(opt.min_shapes, opt.max_shapes + 1);
    for (int64_t s = 0; s < count; ++s) {
        Shape sh;
        const int64_t drawn = rng.randint(0, shape_kinds);  // drawn for every shape: fixed draw count
        const int64_t kind_index = s == count - 1 ? index % shape_kinds : drawn;
        sh.kind = int(kind_index);
        sh.r = size * rng.uniform(0.1, 0.25);
        sh.cx = rng.uniform(0.1, 0.9) * double(w);
        sh.cy = rng.uniform(0.1, 0.9) * double(h);
        sh.angle = rng.uniform(0, 2 * M_PI);
        sh.aspect = rng.uniform(0.45, 0.9);
        sh.build();
        const int32_t cls = int32_t(kBackgrounds + kind_index);
        const Rgb c = jitter(kColours[cls], rng, 25);
        const double shade = rng.uniform(-0.25, 0.25);  // a linear shading across the shape
        const int64_t x0 = std::max<int64_t>(0, int64_t(sh.cx - sh.r) - 1),
                      x1 = std::min<int64_t>(w, int64_t(sh.cx + sh.r) + 2);
        const int64_t y0 = std::max<int64_t>(0, int64_t(sh.cy - sh.r) - 1),
                      y1 = std::min<int64_t>(h, int64_t(sh.cy + sh.r) + 2);
        for (int64_t y = y0; y < y1; ++y)
            for (int64_t x = x0; x < x1; ++x) {
                const double px = double(x) + 0.5, py = double(y) + 0.5;
                if (!sh.contains(px, py)) continue;
                const float f = float(1.0 + shade * (py - sh.cy) / sh.r);
                float* p = rgb.data() + (y * w + x) * 3;
                p[0] = c.r * f, p[1] = c.g * f, p[2] = c.b * f;
                labels[size_t(y * w + x)] = cls;
            }
    }

    // Lighting (a gradient over the image and a global level), then pixel noise.
    const double light_angle = rng.uniform(0, 2 * M_PI), strength = rng.uniform(0.1, 0.5),
                 level = rng.uniform(0.8, 1.15);
    const double diag = std::sqrt(double(h * h + w * w));
    SynthScene out;
    out.image = Image{h, w, 3, std::vector<uint8_t>(size_t(h * w * 3))};
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
            const double t = ((double(x) - double(w) / 2) * std::cos(light_angle) +
                              (double(y) - double(h) / 2) * std::sin(light_angle)) /
                             diag;
            const double light = level * (1.0 + strength * 2 * t);
            for (int k = 0; k < 3; ++k) {
                const size_t i = size_t((y * w + x) * 3 + k);
                const double v = double(rgb[i]) * light + opt.noise_std * rng.normal();
                out.image.pixels[i] = uint8_t(std::clamp(std::lround(v), 0L, 255L));
            }
        }
    out.mask = Mask{h, w, std::move(labels)};
    return out;
}

DatasetSpec synth_dataset_spec(const SynthOptions& opt) {
    check_options(opt);
    DatasetSpec spec;
    spec.name = "synth";
    spec.format = "folder";
    spec.root.assign(1, '.');  // assign: operator= of a literal trips a GCC 12 -Wrestrict false positive
    spec.classes = synth_class_names(opt.classes);
    spec.palette = synth_palette(opt.classes);
    spec.ignore_index = 255;
    for (const char* split : {"train", "val"}) {
        SplitSpec& sp = spec.splits[split];
        sp.images = std::string(split) + "/images";
        sp.masks = std::string(split) + "/masks";
    }
    return spec;
}

DatasetSpec write_synth_dataset(const std::string& out_dir, const SynthOptions& opt) {
    namespace fs = std::filesystem;
    DatasetSpec spec = synth_dataset_spec(opt);
    spec.root = fs::absolute(out_dir).lexically_normal().string();  // saved relative to dataset.json
    const std::pair<const char*, int64_t> splits[] = {{"train", opt.train}, {"val", opt.val}};
    for (int64_t s = 0; s < 2; ++s) {
        const std::string dir = out_dir + "/" + splits[s].first;
        std::error_code ec;
        fs::create_directories(dir + "/images", ec);
        SEGCORE_CHECK(!ec, "synth: cannot create ", dir, "/images: ", ec.message());
        fs::create_directories(dir + "/masks", ec);
        SEGCORE_CHECK(!ec, "synth: cannot create ", dir, "/masks: ", ec.message());
        for (int64_t i = 0; i < splits[s].second; ++i) {
            char name[32];
            std::snprintf(name, sizeof(name), "%04lld.png", static_cast<long long>(i));
            const SynthScene scene = synth_scene(opt, s, i);
            write_png(dir + "/images/" + name, scene.image);
            write_index_png(dir + "/masks/" + name, scene.mask);
        }
    }
    save_dataset_spec(spec, out_dir + "/dataset.json");
    return spec;
}

}  // namespace segcore::data
