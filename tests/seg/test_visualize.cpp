// Pictures of predictions (seg/inference/visualize.h): palette colours, overlays, the legend and
// its bitmap font, entropy and error maps.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "kernels/ops.h"
#include "seg/inference/visualize.h"
#include "tests/test_util.h"

using namespace segcore;
using seg::Rgb;

namespace {

data::Mask mask_of(int64_t h, int64_t w, std::vector<int32_t> labels) {
    data::Mask m;
    m.height = h;
    m.width = w;
    m.labels = std::move(labels);
    return m;
}

data::Image image_of(int64_t h, int64_t w, int64_t c, uint8_t value) {
    data::Image im;
    im.height = h;
    im.width = w;
    im.channels = c;
    im.pixels.assign(size_t(h * w * c), value);
    return im;
}

Rgb pixel(const data::Image& im, int64_t y, int64_t x) {
    const uint8_t* p = im.at(y, x);
    return {p[0], p[1], p[2]};
}

std::set<Rgb> colours_in(const data::Image& im, int64_t x0, int64_t x1) {
    std::set<Rgb> s;
    for (int64_t y = 0; y < im.height; ++y)
        for (int64_t x = x0; x < x1; ++x) s.insert(pixel(im, y, x));
    return s;
}

}  // namespace

TEST_CASE("default_palette: distinct, never black, the same every time", "[seg][visualize]") {
    const data::Palette p = seg::default_palette(256);
    REQUIRE(p.size() == 256);
    CHECK(std::set<Rgb>(p.begin(), p.end()).size() == 256);
    for (const Rgb& c : p) CHECK(int(c[0]) + c[1] + c[2] > 100);
    CHECK(seg::default_palette(256) == p);
    CHECK(seg::default_palette(5) == data::Palette(p.begin(), p.begin() + 5));  // a prefix: stable per class
    CHECK(seg::default_palette(0).empty());
}

TEST_CASE("colorize_mask and overlay: palette colours, ignored pixels black / untouched", "[seg][visualize]") {
    const data::Palette pal = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    const data::Mask m = mask_of(2, 2, {0, 1, 2, 255});
    const data::Image c = seg::colorize_mask(m, pal);
    REQUIRE(c.channels == 3);
    CHECK(pixel(c, 0, 0) == Rgb{255, 0, 0});
    CHECK(pixel(c, 0, 1) == Rgb{0, 255, 0});
    CHECK(pixel(c, 1, 0) == Rgb{0, 0, 255});
    CHECK(pixel(c, 1, 1) == Rgb{0, 0, 0});

    const data::Image grey = image_of(2, 2, 1, 100);
    const data::Image half = seg::overlay_mask(grey, m, pal, 0.5);
    CHECK(pixel(half, 0, 0) == Rgb{178, 50, 50});    // (100 + 255) / 2 = 177.5 rounds up
    CHECK(pixel(half, 1, 1) == Rgb{100, 100, 100});  // ignored: the image
    CHECK(seg::overlay_mask(grey, m, pal, 0.0).pixels == seg::to_rgb(grey).pixels);
    const data::Image full = seg::overlay_mask(grey, m, pal, 1.0);
    CHECK(pixel(full, 1, 0) == Rgb{0, 0, 255});
    CHECK_THROWS_WITH(seg::overlay_mask(image_of(3, 2, 3, 0), m, pal),
                      Catch::Contains("3x2") && Catch::Contains("2x2"));
}

TEST_CASE("legend: a panel to the right with a swatch and a name per class present", "[seg][visualize]") {
    const data::Palette pal = {{200, 10, 10}, {10, 200, 10}, {10, 10, 200}, {90, 90, 20}};
    const std::vector<std::string> names = {"sky", "road", "car", "tree"};
    std::vector<int32_t> labels(40 * 40, 0);
    for (size_t i = 0; i < labels.size() / 2; ++i) labels[i] = 2;  // classes 0 and 2 present, 1 and 3 absent
    const data::Mask m = mask_of(40, 40, labels);
    const auto entries = seg::legend_entries(m, names, pal);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].label == "sky");
    CHECK(entries[1].label == "car");
    CHECK(entries[1].colour == pal[2]);

    const data::Image img = image_of(40, 40, 3, 0);
    const data::Image out = seg::add_legend(img, entries);
    CHECK(out.width > img.width + seg::text_width("sky"));
    CHECK(out.height == img.height);
    CHECK(pixel(out, 5, 5) == Rgb{0, 0, 0});  // the image is kept at the left
    const std::set<Rgb> panel = colours_in(out, img.width, out.width);
    CHECK(panel.count(pal[0]));
    CHECK(panel.count(pal[2]));
    CHECK_FALSE(panel.count(pal[1]));
    CHECK(panel.count(Rgb{255, 255, 255}));  // background
    CHECK(panel.count(Rgb{0, 0, 0}));        // text

    // More entries than rows fit beside the image: the picture grows downwards.
    std::vector<seg::LegendEntry> many(10, {{1, 2, 3}, "x"});
    const data::Image tall = seg::add_legend(image_of(20, 20, 3, 7), many);
    CHECK(tall.height > 20);
    CHECK(pixel(tall, tall.height - 1, 0) == Rgb{255, 255, 255});
    CHECK(seg::add_legend(img, {}).pixels == img.pixels);

    const data::Image ov = seg::overlay_with_legend(img, m, names, pal, 0.5);
    CHECK(ov.width == out.width);
}

TEST_CASE("font: glyphs are 5x7 bitmaps of printable ASCII", "[seg][visualize]") {
    // 'T': a full top row and the middle column.
    const auto t = seg::glyph_rows('T');
    CHECK(t[0] == 0b11111);
    for (int r = 1; r < 7; ++r) CHECK(t[size_t(r)] == 0b00100);
    const auto l = seg::glyph_rows('L');
    CHECK(l[6] == 0b11111);
    CHECK(l[0] == 0b10000);
    const auto space = seg::glyph_rows(' ');
    for (uint8_t r : space) CHECK(r == 0);
    CHECK(seg::glyph_rows('\x01') == seg::glyph_rows('?'));  // unprintable: '?'
    std::set<std::array<uint8_t, 7>> distinct;
    for (char c = 32; c < 127; ++c) distinct.insert(seg::glyph_rows(c));
    CHECK(distinct.size() == 95);

    data::Image im = image_of(9, 20, 3, 0);
    seg::draw_text(im, 1, 1, "T", {255, 255, 255});
    CHECK(pixel(im, 1, 1) == Rgb{255, 255, 255});  // top-left of the bar
    CHECK(pixel(im, 1, 5) == Rgb{255, 255, 255});
    CHECK(pixel(im, 2, 1) == Rgb{0, 0, 0});
    CHECK(pixel(im, 7, 3) == Rgb{255, 255, 255});     // the stem
    seg::draw_text(im, 15, 5, "WWWW", {1, 1, 1}, 2);  // clipped at the border without a crash
    CHECK(seg::text_width("abc", 2) == 36);
}

TEST_CASE("entropy: uniform probabilities are 1, one-hot are 0", "[seg][visualize]") {
    Tensor p = zeros({1, 4, 2, 3});
    float* d = p.data<float>();
    for (int64_t i = 0; i < 6; ++i) {
        if (i < 3) {
            for (int64_t c = 0; c < 4; ++c) d[c * 6 + i] = 0.25f;
        } else {
            d[(i % 4) * 6 + i] = 1.0f;
        }
    }
    const data::FloatImage e = seg::entropy_map(p);
    REQUIRE(e.channels == 1);
    REQUIRE(e.height == 2);
    REQUIRE(e.width == 3);
    for (int64_t i = 0; i < 3; ++i) CHECK(e.pixels[size_t(i)] == Approx(1.0).epsilon(1e-6));
    for (int64_t i = 3; i < 6; ++i) CHECK(e.pixels[size_t(i)] == 0.0f);
    // Two equally likely classes out of four: log 2 / log 4.
    Tensor two = zeros({4, 1, 1});
    two.data<float>()[0] = two.data<float>()[3] = 0.5f;
    CHECK(seg::entropy_map(two).pixels[0] == Approx(0.5));
    CHECK(seg::entropy_map(ones({1, 1, 2, 2})).pixels == std::vector<float>(4, 0.f));  // K = 1

    data::FloatImage ramp;
    ramp.height = 1, ramp.width = 3, ramp.channels = 1;
    ramp.pixels = {0.f, 1.f, 0.5f};
    const data::Image h = seg::heat_colormap(ramp);
    CHECK(pixel(h, 0, 0) == Rgb{0, 0, 4});
    CHECK(pixel(h, 0, 1) == Rgb{252, 255, 164});
    CHECK(pixel(h, 0, 2) == Rgb{188, 55, 84});
}

TEST_CASE("error map: green right, red wrong, grey ignored; pixel accuracy", "[seg][visualize]") {
    const data::Mask truth = mask_of(1, 4, {0, 1, 2, 255});
    const data::Mask pred = mask_of(1, 4, {0, 2, 2, 1});
    const data::Image e = seg::error_map({}, pred, truth, 255);
    CHECK(pixel(e, 0, 0) == Rgb{0, 120, 0});
    CHECK(pixel(e, 0, 1) == Rgb{255, 0, 0});
    CHECK(pixel(e, 0, 2) == Rgb{0, 120, 0});
    CHECK(pixel(e, 0, 3) == Rgb{128, 128, 128});
    const data::Image with_image = seg::error_map(image_of(1, 4, 3, 200), pred, truth, 255);
    CHECK(pixel(with_image, 0, 0) == Rgb{80, 200, 80});  // dimmed image, pushed to green
    CHECK(pixel(with_image, 0, 1) == Rgb{255, 0, 0});
    CHECK(seg::pixel_accuracy(pred, truth, 255) == Approx(2.0 / 3.0));
    CHECK(std::isnan(seg::pixel_accuracy(pred, mask_of(1, 4, {255, 255, 255, 255}), 255)));
    CHECK_THROWS_WITH(seg::error_map({}, mask_of(1, 3, {0, 0, 0}), truth, 255), Catch::Contains("differ in size"));
}
