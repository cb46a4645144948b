// Photometric transforms: the image changes, the mask never does. Formulas follow torchvision's
// functional tensor ops, on the 0-255 scale instead of 0-1 (bound = 255).
#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "data/color.h"
#include "data/transforms.h"

namespace segcore::data {

namespace {

constexpr float kBound = 255.f;

float clamp_bound(float v) { return std::min(std::max(v, 0.f), kBound); }

// torchvision rgb_to_grayscale weights (ITU-R 601-2 luma).
float luma(const float* p) { return 0.2989f * p[0] + 0.587f * p[1] + 0.114f * p[2]; }

// torchvision _blend: ratio * a + (1 - ratio) * b, clamped.
float blend(float a, float b, float ratio) { return clamp_bound(ratio * a + (1.f - ratio) * b); }

int64_t npixels(const FloatImage& img) { return img.height * img.width; }

}  // namespace

void adjust_brightness(FloatImage& img, double factor) {
    const float f = float(factor);
    for (float& v : img.pixels) v = clamp_bound(v * f);
}

void adjust_contrast(FloatImage& img, double factor) {
    const int64_t n = npixels(img), c = img.channels;
    if (n == 0) return;
    // Mean of the grey image over all pixels (torchvision), accumulated in double.
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        const float* p = img.pixels.data() + i * c;
        sum += c >= 3 ? double(luma(p)) : double(p[0]);
    }
    const float mean = float(sum / double(n)), f = float(factor);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < std::min<int64_t>(c, 3); ++k) {
            float& v = img.pixels[size_t(i * c + k)];
            v = blend(v, mean, f);
        }
}

void adjust_saturation(FloatImage& img, double factor) {
    if (img.channels < 3) return;  // grey images have no saturation
    const int64_t n = npixels(img), c = img.channels;
    const float f = float(factor);
    for (int64_t i = 0; i < n; ++i) {
        float* p = img.pixels.data() + i * c;
        const float g = luma(p);
        for (int k = 0; k < 3; ++k) p[k] = blend(p[k], g, f);
    }
}

void adjust_hue(FloatImage& img, double shift) {
    SEGCORE_CHECK(shift >= -0.5 && shift <= 0.5, "adjust_hue: shift ", shift, " must be in [-0.5, 0.5]");
    if (img.channels < 3) return;
    const int64_t n = npixels(img), c = img.channels;
    for (int64_t i = 0; i < n; ++i) {
        float* p = img.pixels.data() + i * c;
        const float r = p[0] / kBound, g = p[1] / kBound, b = p[2] / kBound;
        // torchvision _rgb2hsv
        const float maxc = std::max({r, g, b}), minc = std::min({r, g, b});
        const float cr = maxc - minc;
        const float v = maxc;
        const float s = cr / (maxc == 0 ? 1.f : maxc);
        const float crd = cr == 0 ? 1.f : cr;
        const float rc = (maxc - r) / crd, gc = (maxc - g) / crd, bc = (maxc - b) / crd;
        float h;
        if (maxc == r)
            h = bc - gc;
        else if (maxc == g)
            h = 2.f + rc - bc;
        else
            h = 4.f + gc - rc;
        // torchvision: h = (h / 6 + 1) % 1, then (h + shift) % 1; one floor instead of two fmods
        h = h / 6.f + float(shift);
        h -= std::floor(h);
        const auto [rr, gg, bb] = hsv_to_rgb(h, s, v);  // back to RGB (torchvision _hsv2rgb)
        p[0] = clamp_bound(rr * kBound);
        p[1] = clamp_bound(gg * kBound);
        p[2] = clamp_bound(bb * kBound);
    }
}

void gaussian_blur(FloatImage& img, double sigma, int64_t kernel_size) {
    SEGCORE_CHECK(sigma > 0, "gaussian_blur: sigma ", sigma, " must be positive");
    if (kernel_size <= 0) kernel_size = 2 * int64_t(std::ceil(3.0 * sigma)) + 1;
    SEGCORE_CHECK(kernel_size % 2 == 1, "gaussian_blur: kernel_size ", kernel_size, " must be odd");
    const int64_t r = kernel_size / 2, h = img.height, w = img.width, c = img.channels;
    if (h == 0 || w == 0) return;
    std::vector<float> k(static_cast<size_t>(kernel_size));
    double total = 0;
    for (int64_t i = -r; i <= r; ++i) total += std::exp(-0.5 * double(i * i) / (sigma * sigma));
    for (int64_t i = -r; i <= r; ++i)
        k[size_t(i + r)] = float(std::exp(-0.5 * double(i * i) / (sigma * sigma)) / total);
    // Reflect without repeating the edge (torchvision "reflect"); folds until inside for tiny images.
    auto reflect = [](int64_t i, int64_t n) {
        if (n == 1) return int64_t(0);
        while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
        return i;
    };
    std::vector<float> tmp(img.pixels.size());
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int64_t ch = 0; ch < c; ++ch) {
                float acc = 0;
                for (int64_t i = -r; i <= r; ++i)
                    acc += k[size_t(i + r)] * img.pixels[size_t((y * w + reflect(x + i, w)) * c + ch)];
                tmp[size_t((y * w + x) * c + ch)] = acc;
            }
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int64_t ch = 0; ch < c; ++ch) {
                float acc = 0;
                for (int64_t i = -r; i <= r; ++i)
                    acc += k[size_t(i + r)] * tmp[size_t((reflect(y + i, h) * w + x) * c + ch)];
                img.pixels[size_t((y * w + x) * c + ch)] = acc;
            }
}

// ---------------------------------------------------------------- transforms

void ColorJitter::apply(Sample& s, SampleRng& rng) const {
    // Draw everything first, whether or not the jitter fires (fixed draw count per sample).
    const bool fire = rng.bernoulli(p);
    std::array<int, 4> order{0, 1, 2, 3};
    if (random_order)
        for (int i = 3; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.randint(0, i + 1))]);
    const double fb = rng.uniform(brightness.lo, brightness.hi);
    const double fc = rng.uniform(contrast.lo, contrast.hi);
    const double fs = rng.uniform(saturation.lo, saturation.hi);
    const double fh = rng.uniform(hue.lo, hue.hi);
    if (!fire) return;
    for (int op : order) {
        switch (op) {
            case 0:
                if (brightness.lo != 1 || brightness.hi != 1) adjust_brightness(s.image, fb);
                break;
            case 1:
                if (contrast.lo != 1 || contrast.hi != 1) adjust_contrast(s.image, fc);
                break;
            case 2:
                if (saturation.lo != 1 || saturation.hi != 1) adjust_saturation(s.image, fs);
                break;
            default:
                if (hue.lo != 0 || hue.hi != 0) adjust_hue(s.image, fh);
                break;
        }
    }
}

void GaussianBlur::apply(Sample& s, SampleRng& rng) const {
    const bool fire = rng.bernoulli(p);
    const double sg = rng.uniform(sigma.lo, sigma.hi);
    if (fire) gaussian_blur(s.image, sg, kernel_size);
}

void GaussianNoise::apply(Sample& s, SampleRng& rng) const {
    const bool fire = rng.bernoulli(p);
    const double sd = rng.uniform(stddev.lo, stddev.hi);
    if (!fire || sd == 0) return;
    for (float& v : s.image.pixels) v = clamp_bound(v + float(sd * rng.normal()));
}

void Normalize::apply(Sample& s, SampleRng&) const {
    FloatImage& img = s.image;
    const int64_t c = img.channels;
    SEGCORE_CHECK(
        (mean.size() == 1 || int64_t(mean.size()) == c) && (stddev.size() == 1 || int64_t(stddev.size()) == c),
        "normalize: mean has ", mean.size(), " and std ", stddev.size(), " values but the image of sample '", s.id,
        "' has ", c, " channels");
    SEGCORE_CHECK(!bgr || c == 3, "normalize: order \"bgr\" needs a 3-channel image; sample '", s.id, "' has ", c);
    std::vector<float> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
    const float k = unit_scale ? 1.f / 255.f : 1.f;
    for (int64_t i = 0; i < c; ++i) {
        const float m = mean.size() == 1 ? mean[0] : mean[size_t(i)];
        const float sd = stddev.size() == 1 ? stddev[0] : stddev[size_t(i)];
        scale[size_t(i)] = k / sd;
        shift[size_t(i)] = m / sd;
    }
    const int64_t n = npixels(img);
    for (int64_t i = 0; i < n; ++i) {
        float* p = img.pixels.data() + i * c;
        if (bgr) std::swap(p[0], p[2]);
        for (int64_t j = 0; j < c; ++j) p[j] = p[j] * scale[size_t(j)] - shift[size_t(j)];
    }
}

}  // namespace segcore::data
