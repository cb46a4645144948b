// Colour masks, overlays with legends, entropy and error maps (seg/inference/visualize.h).
#include "seg/inference/visualize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "core/error.h"
#include "data/color.h"

namespace segcore::seg {

namespace {

// A palette colour from HSV (hue in turns, any real: its fractional part is used).
Rgb hsv_colour(double h, double s, double v) {
    const auto c = data::hsv_to_rgb(float(h - std::floor(h)), float(s), float(v));
    auto u8 = [](float x) { return uint8_t(std::lround(std::clamp(x, 0.f, 1.f) * 255.f)); };
    return {u8(c[0]), u8(c[1]), u8(c[2])};
}

uint8_t blend(double a, double b, double alpha) {
    return uint8_t(std::lround(std::clamp((1.0 - alpha) * a + alpha * b, 0.0, 255.0)));
}

void check_same_size(const data::Mask& a, const data::Mask& b, const char* what) {
    SEGCORE_CHECK(a.height == b.height && a.width == b.width, what, ": the masks differ in size (", a.height, "x",
                  a.width, " vs ", b.height, "x", b.width, ")");
}

void check_image_fits(const data::Image& image, const data::Mask& mask, const char* what) {
    SEGCORE_CHECK(image.height == mask.height && image.width == mask.width, what, ": the image is ", image.height, "x",
                  image.width, " but the mask is ", mask.height, "x", mask.width);
}

void fill_rect(data::Image& rgb, int64_t x0, int64_t y0, int64_t w, int64_t h, Rgb c) {
    for (int64_t y = std::max<int64_t>(y0, 0); y < std::min(y0 + h, rgb.height); ++y)
        for (int64_t x = std::max<int64_t>(x0, 0); x < std::min(x0 + w, rgb.width); ++x) {
            uint8_t* p = rgb.at(y, x);
            p[0] = c[0], p[1] = c[1], p[2] = c[2];
        }
}

}  // namespace

data::Palette default_palette(int64_t num_classes) {
    SEGCORE_CHECK(num_classes >= 0, "default_palette: negative class count ", num_classes);
    // (saturation, value) levels cycled with the index; value >= 0.6 keeps every colour far from black.
    constexpr double kLevels[3][2] = {{0.75, 0.95}, {0.55, 0.75}, {0.95, 0.65}};
    constexpr double kGolden = 0.6180339887498949;  // hue step in turns: successive hues never bunch up
    data::Palette pal;
    std::set<Rgb> used;
    for (int64_t i = 0; i < num_classes; ++i) {
        const double* sv = kLevels[i % 3];
        Rgb c = hsv_colour(double(i) * kGolden, sv[0], sv[1]);
        // Hundreds of classes can round two hues to one colour: nudge until unique (deterministic).
        while (used.count(c)) c[2] = uint8_t(c[2] + 1);
        used.insert(c);
        pal.push_back(c);
    }
    return pal;
}

data::Image to_rgb(const data::Image& image) {
    SEGCORE_CHECK(image.channels >= 1 && image.channels <= 4, "to_rgb: expected 1 to 4 channels, got ", image.channels);
    data::Image out;
    out.height = image.height;
    out.width = image.width;
    out.channels = 3;
    out.pixels.resize(size_t(image.height * image.width * 3));
    for (int64_t i = 0; i < image.height * image.width; ++i) {
        const uint8_t* p = image.pixels.data() + i * image.channels;
        uint8_t* q = out.pixels.data() + i * 3;
        if (image.channels < 3)
            q[0] = q[1] = q[2] = p[0];  // grey (+ alpha)
        else
            q[0] = p[0], q[1] = p[1], q[2] = p[2];
    }
    return out;
}

data::Image colorize_mask(const data::Mask& mask, const data::Palette& palette) {
    data::Image out;
    out.height = mask.height;
    out.width = mask.width;
    out.channels = 3;
    out.pixels.assign(size_t(mask.height * mask.width * 3), 0);
    for (size_t i = 0; i < mask.labels.size(); ++i) {
        const int32_t c = mask.labels[i];
        if (c < 0 || size_t(c) >= palette.size()) continue;  // ignored / unknown: black
        for (int k = 0; k < 3; ++k) out.pixels[i * 3 + size_t(k)] = palette[size_t(c)][size_t(k)];
    }
    return out;
}

data::Image overlay_mask(const data::Image& image, const data::Mask& mask, const data::Palette& palette, double alpha) {
    check_image_fits(image, mask, "overlay");
    SEGCORE_CHECK(alpha >= 0 && alpha <= 1, "overlay: alpha must be in [0, 1], got ", alpha);
    data::Image out = to_rgb(image);
    for (size_t i = 0; i < mask.labels.size(); ++i) {
        const int32_t c = mask.labels[i];
        if (c < 0 || size_t(c) >= palette.size()) continue;  // no class: the image shows through
        uint8_t* p = out.pixels.data() + i * 3;
        for (int k = 0; k < 3; ++k) p[k] = blend(p[k], palette[size_t(c)][size_t(k)], alpha);
    }
    return out;
}

std::vector<LegendEntry> legend_entries(const data::Mask& mask, const std::vector<std::string>& classes,
                                        const data::Palette& palette) {
    std::vector<bool> present(palette.size(), false);
    for (int32_t c : mask.labels)
        if (c >= 0 && size_t(c) < palette.size()) present[size_t(c)] = true;
    std::vector<LegendEntry> out;
    for (size_t c = 0; c < present.size(); ++c)
        if (present[c]) out.push_back({palette[c], c < classes.size() ? classes[c] : std::to_string(c)});
    return out;
}

data::Image add_legend(const data::Image& image, const std::vector<LegendEntry>& entries) {
    data::Image base = to_rgb(image);
    if (entries.empty()) return base;
    // Text grows with the picture so the legend stays readable on large images.
    const int s = int(std::clamp<int64_t>(1 + (image.height - 1) / 256, 1, 4));
    const int64_t pad = 4 * s, swatch = 10 * s, gap = 4 * s, row = 14 * s;
    int64_t text_w = 0;
    for (const LegendEntry& e : entries) text_w = std::max(text_w, text_width(e.label, s));
    const int64_t panel_w = pad + swatch + gap + text_w + pad;
    const int64_t panel_h = 2 * pad + int64_t(entries.size()) * row;

    data::Image out;
    out.width = base.width + panel_w;
    out.height = std::max(base.height, panel_h);
    out.channels = 3;
    out.pixels.assign(size_t(out.width * out.height * 3), 255);
    for (int64_t y = 0; y < base.height; ++y) std::copy(base.at(y, 0), base.at(y, 0) + base.width * 3, out.at(y, 0));
    const Rgb border{64, 64, 64}, ink{0, 0, 0};
    for (size_t i = 0; i < entries.size(); ++i) {
        const int64_t x = base.width + pad, y = pad + int64_t(i) * row + (row - swatch) / 2;
        fill_rect(out, x, y, swatch, swatch, border);  // a frame, so white or pale swatches show
        fill_rect(out, x + s, y + s, swatch - 2 * s, swatch - 2 * s, entries[i].colour);
        draw_text(out, x + swatch + gap, pad + int64_t(i) * row + (row - kGlyphHeight * s) / 2, entries[i].label, ink,
                  s);
    }
    return out;
}

data::Image overlay_with_legend(const data::Image& image, const data::Mask& mask,
                                const std::vector<std::string>& classes, const data::Palette& palette, double alpha) {
    return add_legend(overlay_mask(image, mask, palette, alpha), legend_entries(mask, classes, palette));
}

data::FloatImage entropy_map(const Tensor& probs) {
    SEGCORE_CHECK(probs.defined() && (probs.dim() == 3 || (probs.dim() == 4 && probs.size(0) == 1)),
                  "entropy_map: expected probabilities (K, H, W) or (1, K, H, W), got ",
                  probs.defined() ? probs.meta_str() : std::string("an undefined tensor"));
    const Tensor p = (probs.dim() == 4 ? probs.select(0, 0) : probs).to(Device::cpu(), DType::F32).contiguous();
    const int64_t k = p.size(0), h = p.size(1), w = p.size(2), hw = h * w;
    data::FloatImage out;
    out.height = h;
    out.width = w;
    out.channels = 1;
    out.pixels.assign(size_t(hw), 0.f);
    if (k <= 1) return out;
    const float* src = p.data<float>();
    const double norm = std::log(double(k));
    for (int64_t i = 0; i < hw; ++i) {
        double e = 0;
        for (int64_t c = 0; c < k; ++c) {
            const double v = src[c * hw + i];
            if (v > 0) e -= v * std::log(v);  // p log p -> 0 as p -> 0
        }
        out.pixels[size_t(i)] = float(std::clamp(e / norm, 0.0, 1.0));
    }
    return out;
}

data::Image heat_colormap(const data::FloatImage& values) {
    SEGCORE_CHECK(values.channels == 1, "heat_colormap: expected a 1-channel map, got ", values.channels, " channels");
    // Five stops of matplotlib's inferno, linearly interpolated: dark = certain, bright = unsure.
    constexpr double kStops[5][3] = {{0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
    data::Image out;
    out.height = values.height;
    out.width = values.width;
    out.channels = 3;
    out.pixels.resize(size_t(values.height * values.width * 3));
    for (size_t i = 0; i < values.pixels.size(); ++i) {
        const double v = std::isnan(values.pixels[i]) ? 0.0 : std::clamp(double(values.pixels[i]), 0.0, 1.0) * 4.0;
        const int lo = std::min(int(v), 3);
        const double t = v - lo;
        for (int k = 0; k < 3; ++k)
            out.pixels[i * 3 + size_t(k)] = uint8_t(std::lround((1 - t) * kStops[lo][k] + t * kStops[lo + 1][k]));
    }
    return out;
}

data::Image error_map(const data::Image& image, const data::Mask& pred, const data::Mask& truth, int32_t ignore_index) {
    check_same_size(pred, truth, "error map");
    data::Image out;
    if (!image.empty()) {
        check_image_fits(image, truth, "error map");
        out = to_rgb(image);
    } else {
        out.height = truth.height;
        out.width = truth.width;
        out.channels = 3;
        out.pixels.assign(size_t(truth.height * truth.width * 3), 0);
    }
    for (size_t i = 0; i < truth.labels.size(); ++i) {
        uint8_t* p = out.pixels.data() + i * 3;
        if (truth.labels[i] == ignore_index) {
            p[0] = p[1] = p[2] = 128;
        } else if (pred.labels[i] != truth.labels[i]) {
            p[0] = 255, p[1] = 0, p[2] = 0;
        } else {
            // Correct: the image's brightness at 40%, pushed towards green, so the scene stays
            // recognisable while the red errors stand out.
            const double lum = image.empty() ? 0.0 : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            p[0] = uint8_t(std::lround(0.4 * lum));
            p[1] = uint8_t(std::lround(std::min(255.0, 0.4 * lum + 120.0)));
            p[2] = uint8_t(std::lround(0.4 * lum));
        }
    }
    return out;
}

double pixel_accuracy(const data::Mask& pred, const data::Mask& truth, int32_t ignore_index) {
    check_same_size(pred, truth, "pixel accuracy");
    int64_t right = 0, counted = 0;
    for (size_t i = 0; i < truth.labels.size(); ++i) {
        if (truth.labels[i] == ignore_index) continue;
        ++counted;
        right += pred.labels[i] == truth.labels[i];
    }
    return counted ? double(right) / double(counted) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace segcore::seg
