// Geometric transforms: image and mask move together; masks only ever by nearest neighbour.
#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "data/transforms.h"

namespace segcore::data {

namespace {

bool has_mask(const Sample& s) { return !s.mask.labels.empty(); }

void check_sample(const Sample& s, const char* op) {
    SEGCORE_CHECK(int64_t(s.image.pixels.size()) == s.image.height * s.image.width * s.image.channels, op,
                  ": image of sample '", s.id, "' has ", s.image.pixels.size(), " values for ", s.image.height, "x",
                  s.image.width, "x", s.image.channels);
    if (has_mask(s))
        SEGCORE_CHECK(s.mask.height == s.image.height && s.mask.width == s.image.width, op, ": sample '", s.id,
                      "' has a ", s.image.height, "x", s.image.width, " image but a ", s.mask.height, "x", s.mask.width,
                      " mask (", s.mask_path, ")");
}

float fill_for(const std::vector<float>& fill, int64_t c) { return fill.size() == 1 ? fill[0] : fill[size_t(c)]; }

void check_fill(const std::vector<float>& fill, int64_t channels, const char* op) {
    SEGCORE_CHECK(fill.size() == 1 || int64_t(fill.size()) == channels, op, ": pad_value has ", fill.size(),
                  " values but the image has ", channels, " channels (give one value or one per channel)");
}

// PyTorch's area_pixel_compute_source_index for align_corners=false, clamped at 0.
struct Tap {
    int64_t i0, i1;
    float w1;
};
std::vector<Tap> bilinear_taps(int64_t in, int64_t out) {
    std::vector<Tap> taps(static_cast<size_t>(out));
    const double scale = double(in) / double(out);
    for (int64_t o = 0; o < out; ++o) {
        double src = (double(o) + 0.5) * scale - 0.5;
        if (src < 0) src = 0;
        const int64_t i0 = std::min(int64_t(src), in - 1);
        const int64_t i1 = i0 + (i0 < in - 1 ? 1 : 0);
        taps[size_t(o)] = {i0, i1, float(src - double(i0))};
    }
    return taps;
}

std::vector<int64_t> nearest_index(int64_t in, int64_t out) {
    std::vector<int64_t> idx(static_cast<size_t>(out));
    const double scale = double(in) / double(out);
    for (int64_t o = 0; o < out; ++o) idx[size_t(o)] = std::min(int64_t(std::floor((double(o) + 0.5) * scale)), in - 1);
    return idx;
}

void resize_sample(Sample& s, int64_t h, int64_t w) {
    if (h == s.image.height && w == s.image.width) return;
    s.image = resize_bilinear(s.image, h, w);
    if (has_mask(s)) s.mask = resize_nearest(s.mask, h, w);
}

}  // namespace

namespace {
// The row loop, with the channel count a compile-time constant for the common cases (C = 0: any).
template <int C>
void resize_rows(const FloatImage& img, FloatImage& out, const std::vector<Tap>& ty, const std::vector<Tap>& tx) {
    const int64_t c = C > 0 ? C : img.channels;
    for (int64_t y = 0; y < out.height; ++y) {
        const Tap& a = ty[size_t(y)];
        const float* r0 = img.at(a.i0, 0);
        const float* r1 = img.at(a.i1, 0);
        float* o = out.at(y, 0);
        for (int64_t x = 0; x < out.width; ++x) {
            const Tap& b = tx[size_t(x)];
            const float* p00 = r0 + b.i0 * c;
            const float* p01 = r0 + b.i1 * c;
            const float* p10 = r1 + b.i0 * c;
            const float* p11 = r1 + b.i1 * c;
            for (int64_t k = 0; k < c; ++k) {
                const float top = p00[k] + b.w1 * (p01[k] - p00[k]);
                const float bot = p10[k] + b.w1 * (p11[k] - p10[k]);
                o[x * c + k] = top + a.w1 * (bot - top);
            }
        }
    }
}
}  // namespace

FloatImage resize_bilinear(const FloatImage& img, int64_t height, int64_t width) {
    SEGCORE_CHECK(height > 0 && width > 0, "resize: target size ", height, "x", width, " must be positive");
    SEGCORE_CHECK(img.height > 0 && img.width > 0, "resize: empty image");
    FloatImage out{height, width, img.channels, std::vector<float>(size_t(height * width * img.channels))};
    const auto ty = bilinear_taps(img.height, height), tx = bilinear_taps(img.width, width);
    if (img.channels == 3)
        resize_rows<3>(img, out, ty, tx);
    else if (img.channels == 1)
        resize_rows<1>(img, out, ty, tx);
    else
        resize_rows<0>(img, out, ty, tx);
    return out;
}

Mask resize_nearest(const Mask& mask, int64_t height, int64_t width) {
    SEGCORE_CHECK(height > 0 && width > 0, "resize: target size ", height, "x", width, " must be positive");
    Mask out{height, width, std::vector<int32_t>(size_t(height * width))};
    const auto iy = nearest_index(mask.height, height), ix = nearest_index(mask.width, width);
    for (int64_t y = 0; y < height; ++y)
        for (int64_t x = 0; x < width; ++x) out.at(y, x) = mask.at(iy[size_t(y)], ix[size_t(x)]);
    return out;
}

FloatImage crop_image(const FloatImage& img, int64_t y0, int64_t x0, int64_t height, int64_t width,
                      const std::vector<float>& fill) {
    check_fill(fill, img.channels, "crop");
    const int64_t c = img.channels;
    FloatImage out{height, width, c, std::vector<float>(size_t(height * width * c))};
    // The columns that fall inside the source, the same for every row: one block copy per row.
    const int64_t in0 = std::clamp<int64_t>(-x0, 0, width), in1 = std::clamp<int64_t>(img.width - x0, in0, width);
    for (int64_t y = 0; y < height; ++y) {
        const int64_t sy = y0 + y;
        float* o = out.at(y, 0);
        const bool row_inside = sy >= 0 && sy < img.height;
        for (int64_t x = 0; x < width; ++x) {
            if (row_inside && x == in0 && in1 > in0) {
                std::copy_n(img.at(sy, x0 + in0), (in1 - in0) * c, o + in0 * c);
                x = in1 - 1;
                continue;
            }
            for (int64_t k = 0; k < c; ++k) o[x * c + k] = fill_for(fill, k);
        }
    }
    return out;
}

Mask crop_mask(const Mask& mask, int64_t y0, int64_t x0, int64_t height, int64_t width, int32_t fill) {
    Mask out{height, width, std::vector<int32_t>(size_t(height * width), fill)};
    const int64_t in0 = std::clamp<int64_t>(-x0, 0, width), in1 = std::clamp<int64_t>(mask.width - x0, in0, width);
    for (int64_t y = 0; y < height; ++y) {
        const int64_t sy = y0 + y;
        if (sy < 0 || sy >= mask.height || in1 == in0) continue;
        std::copy_n(mask.labels.data() + sy * mask.width + x0 + in0, in1 - in0, &out.at(y, in0));
    }
    return out;
}

void flip_image(FloatImage& img, bool vertical) {
    const int64_t c = img.channels;
    if (vertical) {
        for (int64_t y = 0; y < img.height / 2; ++y)
            std::swap_ranges(img.at(y, 0), img.at(y, 0) + img.width * c, img.at(img.height - 1 - y, 0));
        return;
    }
    for (int64_t y = 0; y < img.height; ++y)
        for (int64_t x = 0; x < img.width / 2; ++x)
            std::swap_ranges(img.at(y, x), img.at(y, x) + c, img.at(y, img.width - 1 - x));
}

void flip_mask(Mask& mask, bool vertical) {
    if (vertical) {
        for (int64_t y = 0; y < mask.height / 2; ++y)
            std::swap_ranges(&mask.at(y, 0), &mask.at(y, 0) + mask.width, &mask.at(mask.height - 1 - y, 0));
        return;
    }
    for (int64_t y = 0; y < mask.height; ++y) std::reverse(&mask.at(y, 0), &mask.at(y, 0) + mask.width);
}

namespace {
// Inverse rotation about the centre: output pixel centre (x + 0.5, y + 0.5) -> source position in
// pixel-centre coordinates (so an integer result lands exactly on a source pixel). Positive angles
// turn the content counter-clockwise on screen (y points down).
struct Rotation {
    double cs, sn, cx, cy;
    Rotation(double degrees, int64_t h, int64_t w)
        : cs(std::cos(degrees * M_PI / 180.0)),
          sn(std::sin(degrees * M_PI / 180.0)),
          cx(double(w) / 2),
          cy(double(h) / 2) {
        if (degrees == 0) cs = 1, sn = 0;
    }
    void source(int64_t x, int64_t y, double& sx, double& sy) const {
        const double dx = double(x) + 0.5 - cx, dy = double(y) + 0.5 - cy;
        sx = cx + cs * dx - sn * dy - 0.5;
        sy = cy + sn * dx + cs * dy - 0.5;
    }
};
}  // namespace

FloatImage rotate_image(const FloatImage& img, double degrees, const std::vector<float>& fill) {
    check_fill(fill, img.channels, "rotate");
    const int64_t c = img.channels, h = img.height, w = img.width;
    FloatImage out{h, w, c, std::vector<float>(size_t(h * w * c))};
    const Rotation rot(degrees, h, w);
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            double sx, sy;
            rot.source(x, y, sx, sy);
            const double fx = std::floor(sx), fy = std::floor(sy);
            const int64_t x0 = int64_t(fx), y0 = int64_t(fy);
            const float ax = float(sx - fx), ay = float(sy - fy);
            float* o = out.at(y, x);
            if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) {
                for (int64_t k = 0; k < c; ++k) o[k] = fill_for(fill, k);
                continue;
            }
            // Neighbours outside the image read the fill value, so edges fade into the padding.
            auto px = [&](int64_t yy, int64_t xx, int64_t k) {
                return (yy >= 0 && yy < h && xx >= 0 && xx < w) ? img.at(yy, xx)[k] : fill_for(fill, k);
            };
            for (int64_t k = 0; k < c; ++k) {
                const float top = px(y0, x0, k) * (1 - ax) + px(y0, x0 + 1, k) * ax;
                const float bot = px(y0 + 1, x0, k) * (1 - ax) + px(y0 + 1, x0 + 1, k) * ax;
                o[k] = top * (1 - ay) + bot * ay;
            }
        }
    }
    return out;
}

Mask rotate_mask(const Mask& mask, double degrees, int32_t fill) {
    const int64_t h = mask.height, w = mask.width;
    Mask out{h, w, std::vector<int32_t>(size_t(h * w))};
    const Rotation rot(degrees, h, w);
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            double sx, sy;
            rot.source(x, y, sx, sy);
            // Nearest source pixel: the one whose cell contains the source position.
            const int64_t ix = int64_t(std::floor(sx + 0.5)), iy = int64_t(std::floor(sy + 0.5));
            out.at(y, x) = (ix >= 0 && ix < w && iy >= 0 && iy < h) ? mask.at(iy, ix) : fill;
        }
    }
    return out;
}

// ---------------------------------------------------------------- transforms

void Resize::apply(Sample& s, SampleRng&) const {
    check_sample(s, "resize");
    int64_t h = height, w = width;
    if (short_side > 0) {
        const double shorter = double(std::min(s.image.height, s.image.width));
        double scale = double(short_side) / shorter;
        const double longer = double(std::max(s.image.height, s.image.width));
        if (max_long_side > 0 && longer * scale > double(max_long_side)) scale = double(max_long_side) / longer;
        h = std::max<int64_t>(1, std::llround(double(s.image.height) * scale));
        w = std::max<int64_t>(1, std::llround(double(s.image.width) * scale));
    }
    resize_sample(s, h, w);
}

void RandomScale::apply(Sample& s, SampleRng& rng) const {
    check_sample(s, "random_scale");
    const double f = rng.uniform(min, max);
    resize_sample(s, std::max<int64_t>(1, std::llround(double(s.image.height) * f)),
                  std::max<int64_t>(1, std::llround(double(s.image.width) * f)));
}

namespace {
// mmsegmentation's cat_max_ratio test: the crop is accepted when it shows more than one class and
// no class covers cat_max_ratio or more of its labelled pixels.
bool crop_balanced(const Mask& m, int64_t y0, int64_t x0, int64_t h, int64_t w, int32_t ignore, double ratio) {
    std::map<int32_t, int64_t> counts;
    for (int64_t y = y0; y < y0 + h; ++y)
        for (int64_t x = x0; x < x0 + w; ++x)
            if (m.at(y, x) != ignore) ++counts[m.at(y, x)];
    if (counts.size() <= 1) return false;
    int64_t total = 0, top = 0;
    for (const auto& [label, n] : counts) total += n, top = std::max(top, n);
    return double(top) / double(total) < ratio;
}
}  // namespace

void RandomCrop::apply(Sample& s, SampleRng& rng) const {
    check_sample(s, "random_crop");
    check_fill(pad_value, s.image.channels, "random_crop");
    // Pad (bottom/right) to at least the crop size: image with pad_value, mask with ignore_index.
    const int64_t ph = std::max(s.image.height, height), pw = std::max(s.image.width, width);
    if (ph != s.image.height || pw != s.image.width) {
        s.image = crop_image(s.image, 0, 0, ph, pw, pad_value);
        if (has_mask(s)) s.mask = crop_mask(s.mask, 0, 0, ph, pw, ignore_index);
    }
    int64_t y0 = rng.randint(0, ph - height + 1), x0 = rng.randint(0, pw - width + 1);
    if (cat_max_ratio < 1.0 && has_mask(s)) {
        for (int attempt = 1;
             attempt < 10 && !crop_balanced(s.mask, y0, x0, height, width, ignore_index, cat_max_ratio); ++attempt) {
            y0 = rng.randint(0, ph - height + 1);
            x0 = rng.randint(0, pw - width + 1);
        }
    }
    if (y0 == 0 && x0 == 0 && height == ph && width == pw) return;
    s.image = crop_image(s.image, y0, x0, height, width, pad_value);
    if (has_mask(s)) s.mask = crop_mask(s.mask, y0, x0, height, width, ignore_index);
}

void Pad::apply(Sample& s, SampleRng&) const {
    check_sample(s, "pad");
    check_fill(pad_value, s.image.channels, "pad");
    int64_t h = std::max(s.image.height, height), w = std::max(s.image.width, width);
    if (size_divisor > 0) {
        h = (h + size_divisor - 1) / size_divisor * size_divisor;
        w = (w + size_divisor - 1) / size_divisor * size_divisor;
    }
    if (h == s.image.height && w == s.image.width) return;
    s.image = crop_image(s.image, 0, 0, h, w, pad_value);
    if (has_mask(s)) s.mask = crop_mask(s.mask, 0, 0, h, w, ignore_index);
}

void Flip::apply(Sample& s, SampleRng& rng) const {
    check_sample(s, type().c_str());
    if (!rng.bernoulli(p)) return;
    flip_image(s.image, vertical);
    if (has_mask(s)) flip_mask(s.mask, vertical);
}

void RandomRotate::apply(Sample& s, SampleRng& rng) const {
    check_sample(s, "random_rotate");
    check_fill(pad_value, s.image.channels, "random_rotate");
    const bool fire = rng.bernoulli(p);
    const double angle = rng.uniform(degrees.lo, degrees.hi);
    if (!fire) return;
    s.image = rotate_image(s.image, angle, pad_value);
    if (has_mask(s)) s.mask = rotate_mask(s.mask, angle, ignore_index);
}

}  // namespace segcore::data
