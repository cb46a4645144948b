// Joint image + mask transforms: geometry is mask-safe, pixel ops match their formulas, the JSON
// pipeline is strict, and everything is a pure function of (seed, epoch, index).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "core/error.h"
#include "data/transforms.h"

using namespace segcore;
using namespace segcore::data;
using nlohmann::json;

namespace {

Sample make_sample(int64_t h, int64_t w, const std::vector<int32_t>& labels, uint32_t seed, int64_t channels = 3) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> u(0.f, 255.f);
    Sample s;
    s.id = "sample_";
    s.id += std::to_string(seed);
    s.image = FloatImage{h, w, channels, std::vector<float>(size_t(h * w * channels))};
    for (float& v : s.image.pixels) v = std::round(u(gen));
    s.mask = Mask{h, w, std::vector<int32_t>(size_t(h * w))};
    for (auto& l : s.mask.labels) l = labels[gen() % labels.size()];
    return s;
}

std::set<int32_t> label_set(const Mask& m) { return {m.labels.begin(), m.labels.end()}; }

bool subset_of(const std::set<int32_t>& a, std::set<int32_t> b, int32_t extra) {
    b.insert(extra);
    return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

void require_same(const Sample& a, const Sample& b) {
    REQUIRE(a.image.height == b.image.height);
    REQUIRE(a.image.width == b.image.width);
    REQUIRE(a.image.channels == b.image.channels);
    REQUIRE(a.image.pixels == b.image.pixels);
    REQUIRE(a.mask.height == b.mask.height);
    REQUIRE(a.mask.width == b.mask.width);
    REQUIRE(a.mask.labels == b.mask.labels);
}

Sample run(const json& pipeline, Sample s, uint64_t seed = 1, int64_t epoch = 0, int64_t index = 0) {
    SampleRng rng(seed, epoch, index);
    Compose::from_json(pipeline).apply(s, rng);
    return s;
}

std::string error_of(const json& pipeline) {
    try {
        Compose::from_json(pipeline);
    } catch (const Error& e) {
        return e.message();
    }
    return "";
}

}  // namespace

TEST_CASE("transforms: flipping twice is the identity", "[data][transforms]") {
    for (const char* type : {"hflip", "vflip"}) {
        for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {5, 7}, {6, 4}}) {
            const Sample s = make_sample(h, w, {0, 1, 2}, 3);
            const json once = json::array({{{"type", type}, {"p", 1.0}}});
            const Sample a = run(once, s);
            if (w > 1 && std::string(type) == "hflip") {
                REQUIRE(a.mask.at(0, 0) == s.mask.at(0, w - 1));
                REQUIRE(a.image.at(0, 0)[1] == s.image.at(0, w - 1)[1]);
            }
            if (h > 1 && std::string(type) == "vflip") REQUIRE(a.mask.at(0, 0) == s.mask.at(h - 1, 0));
            require_same(run(once, a), s);
            require_same(run(json::array({{{"type", type}, {"p", 0.0}}}), s), s);
        }
    }
}

TEST_CASE("transforms: random_crop pads the mask with ignore_index and the image with pad_value",
          "[data][transforms]") {
    const Sample s = make_sample(4, 5, {0, 1}, 7);
    const Sample out =
        run(json::parse(R"([{"type": "random_crop", "size": [8, 9], "pad_value": [1, 2, 3], "ignore_index": 99}])"), s);
    REQUIRE(out.image.height == 8);
    REQUIRE(out.image.width == 9);
    REQUIRE(out.mask.height == 8);
    REQUIRE(out.mask.width == 9);
    // Smaller than the crop: padded bottom/right, the whole image kept in the top-left corner.
    for (int64_t y = 0; y < 8; ++y)
        for (int64_t x = 0; x < 9; ++x) {
            if (y < 4 && x < 5) {
                REQUIRE(out.mask.at(y, x) == s.mask.at(y, x));
                REQUIRE(out.image.at(y, x)[2] == s.image.at(y, x)[2]);
            } else {
                REQUIRE(out.mask.at(y, x) == 99);
                REQUIRE(out.image.at(y, x)[0] == 1.f);
                REQUIRE(out.image.at(y, x)[2] == 3.f);
            }
        }

    // The ignore index comes from the context when the transform does not give one.
    TransformContext ctx;
    ctx.ignore_index = 11;
    Sample t = s;
    SampleRng rng(0, 0, 0);
    Compose::from_json(json::parse(R"([{"type": "random_crop", "size": 6}])"), ctx).apply(t, rng);
    REQUIRE(label_set(t.mask) == std::set<int32_t>{0, 1, 11});
}

TEST_CASE("transforms: a crop inside the image is a window of it", "[data][transforms]") {
    const Sample s = make_sample(20, 30, {0, 1, 2, 3}, 11);
    for (int64_t index = 0; index < 20; ++index) {
        const Sample out = run(json::parse(R"([{"type": "random_crop", "size": [7, 9]}])"), s, 5, 0, index);
        REQUIRE(out.mask.height == 7);
        REQUIRE(out.mask.width == 9);
        // Find the window: it must match the source exactly somewhere.
        bool found = false;
        for (int64_t y0 = 0; y0 <= 13 && !found; ++y0)
            for (int64_t x0 = 0; x0 <= 21 && !found; ++x0) {
                bool same = true;
                for (int64_t y = 0; y < 7 && same; ++y)
                    for (int64_t x = 0; x < 9 && same; ++x)
                        same = out.mask.at(y, x) == s.mask.at(y0 + y, x0 + x) &&
                               out.image.at(y, x)[0] == s.image.at(y0 + y, x0 + x)[0];
                found = same;
            }
        REQUIRE(found);
    }
}

TEST_CASE("transforms: nearest mask resampling never invents labels", "[data][transforms]") {
    const std::vector<int32_t> labels{0, 3, 7, 254};
    const std::set<int32_t> in_set(labels.begin(), labels.end());
    const json pipelines[] = {
        json::parse(R"([{"type": "resize", "size": [13, 29]}])"),
        json::parse(R"([{"type": "resize", "short_side": 50, "max_long_side": 60}])"),
        json::parse(R"([{"type": "random_scale", "min": 0.3, "max": 3.1}])"),
        json::parse(R"([{"type": "random_rotate", "degrees": 45, "ignore_index": 255}])"),
        json::parse(R"([{"type": "random_scale", "min": 0.5, "max": 2}, {"type": "random_rotate", "degrees": [-30, 30]},
                        {"type": "random_crop", "size": [31, 17], "cat_max_ratio": 0.75}, {"type": "hflip"}])"),
    };
    for (const auto& p : pipelines)
        for (int64_t index = 0; index < 8; ++index) {
            const Sample s = make_sample(23, 37, labels, uint32_t(index));
            const Sample out = run(p, s, 9, 0, index);
            INFO(p.dump());
            REQUIRE(out.mask.height == out.image.height);
            REQUIRE(out.mask.width == out.image.width);
            REQUIRE(subset_of(label_set(out.mask), in_set, 255));
        }
}

TEST_CASE("transforms: resize", "[data][transforms]") {
    SECTION("same size is the identity") {
        const Sample s = make_sample(9, 11, {1, 2}, 2);
        require_same(run(json::parse(R"([{"type": "resize", "size": [9, 11]}])"), s), s);
    }
    SECTION("bilinear halving averages pixel pairs (half-pixel centres)") {
        FloatImage img{2, 4, 1, {0, 10, 20, 30, 40, 50, 60, 70}};
        const FloatImage out = resize_bilinear(img, 1, 2);
        REQUIRE(out.pixels[0] == Approx(25.f));  // mean of 0, 10, 40, 50
        REQUIRE(out.pixels[1] == Approx(45.f));
    }
    SECTION("nearest upsampling repeats labels") {
        Mask m{1, 2, {4, 9}};
        const Mask out = resize_nearest(m, 2, 4);
        REQUIRE(out.labels == std::vector<int32_t>{4, 4, 9, 9, 4, 4, 9, 9});
    }
    SECTION("short side keeps the aspect ratio") {
        const Sample s = make_sample(40, 80, {0}, 1);
        const Sample out = run(json::parse(R"([{"type": "resize", "short_side": 20}])"), s);
        REQUIRE(out.image.height == 20);
        REQUIRE(out.image.width == 40);
        REQUIRE(out.mask.width == 40);
    }
    SECTION("a constant image stays constant") {
        FloatImage img{5, 7, 3, std::vector<float>(105, 42.f)};
        for (float v : resize_bilinear(img, 11, 3).pixels) REQUIRE(v == 42.f);
    }
}

TEST_CASE("transforms: rotation", "[data][transforms]") {
    const Sample s = make_sample(15, 22, {0, 5, 6}, 4);
    SECTION("by 0 degrees is the identity") {
        require_same(run(json::parse(R"([{"type": "random_rotate", "degrees": [0, 0], "p": 1}])"), s), s);
        REQUIRE(rotate_image(s.image, 0, {0.f}).pixels == s.image.pixels);
        REQUIRE(rotate_mask(s.mask, 0, 255).labels == s.mask.labels);
    }
    SECTION("by 180 degrees flips both ways (mask exactly)") {
        Mask flipped = s.mask;
        flip_mask(flipped, false);
        flip_mask(flipped, true);
        REQUIRE(rotate_mask(s.mask, 180, 255).labels == flipped.labels);
        FloatImage img = s.image;
        flip_image(img, false);
        flip_image(img, true);
        const FloatImage rot = rotate_image(s.image, 180, {0.f});
        for (size_t i = 0; i < img.pixels.size(); ++i) REQUIRE(rot.pixels[i] == Approx(img.pixels[i]).margin(1e-3));
    }
    SECTION("corners rotated in from outside are ignored") {
        const Mask rot = rotate_mask(s.mask, 45, 255);
        REQUIRE(rot.at(0, 0) == 255);
        REQUIRE(rot.at(14, 21) == 255);
        REQUIRE(rot.at(7, 11) != 255);
        const FloatImage img = rotate_image(s.image, 45, {-1.f});
        REQUIRE(img.at(0, 0)[0] == -1.f);
    }
    SECTION("90 degrees turns counter-clockwise") {
        Mask m{3, 3, {0, 1, 0, 0, 0, 0, 0, 0, 0}};  // a mark at the top centre
        const Mask rot = rotate_mask(m, 90, 255);
        REQUIRE(rot.at(1, 0) == 1);  // now at the left centre
    }
}

TEST_CASE("transforms: normalize matches the hand-computed values", "[data][transforms]") {
    Sample s;
    s.image = FloatImage{1, 2, 3, {10, 20, 30, 255, 0, 128}};
    const auto close = [](float a, double b) { return std::abs(double(a) - b) < 1e-5 * std::max(1.0, std::abs(b)); };
    SECTION("0-1 scale, RGB") {
        const Sample out = run(
            json::parse(R"([{"type": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}])"), s);
        REQUIRE(close(out.image.pixels[0], (10 / 255.0 - 0.485) / 0.229));
        REQUIRE(close(out.image.pixels[1], (20 / 255.0 - 0.456) / 0.224));
        REQUIRE(close(out.image.pixels[2], (30 / 255.0 - 0.406) / 0.225));
        REQUIRE(close(out.image.pixels[3], (255 / 255.0 - 0.485) / 0.229));
        REQUIRE(close(out.image.pixels[5], (128 / 255.0 - 0.406) / 0.225));
    }
    SECTION("0-255 scale, BGR (mean/std in the output order)") {
        const Sample out = run(
            json::parse(
                R"([{"type": "normalize", "mean": [103.53, 116.28, 123.675], "std": [57.375, 57.12, 58.395], "scale": "0-255", "order": "bgr"}])"),
            s);
        REQUIRE(close(out.image.pixels[0], (30 - 103.53) / 57.375));   // B
        REQUIRE(close(out.image.pixels[1], (20 - 116.28) / 57.12));    // G
        REQUIRE(close(out.image.pixels[2], (10 - 123.675) / 58.395));  // R
        REQUIRE(close(out.image.pixels[3], (128 - 103.53) / 57.375));
    }
    SECTION("channel count mismatch names the sample") {
        Sample grey;
        grey.id = "grey_one";
        grey.image = FloatImage{1, 1, 1, {5}};
        REQUIRE_THROWS_WITH(run(eval_transforms_json(), grey),
                            Catch::Contains("grey_one") && Catch::Contains("1 channels"));
    }
}

TEST_CASE("transforms: colour jitter", "[data][transforms]") {
    const Sample s = make_sample(8, 9, {0}, 21);
    SECTION("zero strength is the identity") {
        require_same(run(json::parse(R"([{"type": "color_jitter"}])"), s), s);
        require_same(
            run(json::parse(R"([{"type": "color_jitter", "brightness": 0, "contrast": 0, "saturation": 0, "hue": 0}])"),
                s),
            s);
        FloatImage img = s.image;
        adjust_brightness(img, 1.0);
        adjust_contrast(img, 1.0);
        adjust_saturation(img, 1.0);
        REQUIRE(img.pixels == s.image.pixels);
        adjust_hue(img, 0.0);
        for (size_t i = 0; i < img.pixels.size(); ++i) REQUIRE(img.pixels[i] == Approx(s.image.pixels[i]).margin(1e-3));
    }
    SECTION("torchvision formulas") {
        FloatImage img{1, 2, 3, {100, 50, 200, 10, 250, 0}};
        FloatImage b = img;
        adjust_brightness(b, 1.5);
        REQUIRE(b.pixels == std::vector<float>{150, 75, 255, 15, 255, 0});  // clamped at 255
        FloatImage c = img;
        adjust_contrast(c, 0.0);  // every value becomes the mean grey level
        const double g0 = 0.2989 * 100 + 0.587 * 50 + 0.114 * 200, g1 = 0.2989 * 10 + 0.587 * 250;
        for (float v : c.pixels) REQUIRE(v == Approx((g0 + g1) / 2).epsilon(1e-5));
        FloatImage sat = img;
        adjust_saturation(sat, 0.0);  // grey per pixel
        REQUIRE(sat.pixels[0] == Approx(g0).epsilon(1e-5));
        REQUIRE(sat.pixels[2] == Approx(g0).epsilon(1e-5));
        REQUIRE(sat.pixels[4] == Approx(g1).epsilon(1e-5));
        FloatImage hue{1, 1, 3, {255, 0, 0}};
        adjust_hue(hue, 1.0 / 3.0);  // red -> green
        REQUIRE(hue.pixels[0] == Approx(0).margin(1e-3));
        REQUIRE(hue.pixels[1] == Approx(255).margin(1e-3));
        REQUIRE(hue.pixels[2] == Approx(0).margin(1e-3));
    }
    SECTION("values stay in [0, 255] and the mask is untouched") {
        const json p = json::parse(
            R"([{"type": "color_jitter", "brightness": 0.8, "contrast": 0.8, "saturation": 0.8, "hue": 0.5}])");
        for (int64_t i = 0; i < 10; ++i) {
            const Sample out = run(p, s, 3, 0, i);
            REQUIRE(out.mask.labels == s.mask.labels);
            for (float v : out.image.pixels) REQUIRE((v >= 0.f && v <= 255.f));
        }
    }
}

TEST_CASE("transforms: blur and noise", "[data][transforms]") {
    SECTION("blur keeps a constant image and smooths an impulse symmetrically") {
        FloatImage flat{6, 5, 3, std::vector<float>(90, 77.f)};
        gaussian_blur(flat, 1.3);
        for (float v : flat.pixels) REQUIRE(v == Approx(77.f).epsilon(1e-5));
        FloatImage dot{9, 9, 1, std::vector<float>(81, 0.f)};
        dot.at(4, 4)[0] = 100;
        gaussian_blur(dot, 1.0);
        REQUIRE(dot.at(4, 4)[0] < 100.f);
        REQUIRE(dot.at(4, 3)[0] == Approx(dot.at(3, 4)[0]));
        REQUIRE(dot.at(4, 3)[0] == Approx(dot.at(4, 5)[0]));
        double sum = 0;
        for (float v : dot.pixels) sum += v;
        REQUIRE(sum == Approx(100).epsilon(1e-4));
    }
    SECTION("noise changes the image, not the mask, and stays in range") {
        const Sample s = make_sample(10, 10, {1, 2}, 8);
        const Sample out = run(json::parse(R"([{"type": "gaussian_noise", "std": [5, 5]}])"), s);
        REQUIRE(out.mask.labels == s.mask.labels);
        REQUIRE(out.image.pixels != s.image.pixels);
        for (float v : out.image.pixels) REQUIRE((v >= 0.f && v <= 255.f));
    }
}

TEST_CASE("transforms: a pipeline is a pure function of (seed, epoch, index)", "[data][transforms]") {
    const json p = standard_train_transforms_json(32, 40);
    const json extra = json::array({{{"type", "random_rotate"}, {"degrees", 20}, {"p", 0.5}},
                                    {{"type", "gaussian_blur"}, {"sigma", {0.5, 1.5}}, {"p", 0.5}},
                                    {{"type", "gaussian_noise"}, {"std", 3}, {"p", 0.5}}});
    json full = p;
    for (const auto& t : extra) full.insert(full.end() - 1, t);
    const Sample s = make_sample(30, 50, {0, 1, 2}, 5);
    const Sample a = run(full, s, 42, 3, 17), b = run(full, s, 42, 3, 17);
    require_same(a, b);
    REQUIRE(a.image.height == 32);
    REQUIRE(a.image.width == 40);
    // Another seed, epoch or index draws differently.
    REQUIRE(run(full, s, 43, 3, 17).image.pixels != a.image.pixels);
    REQUIRE(run(full, s, 42, 4, 17).image.pixels != a.image.pixels);
    REQUIRE(run(full, s, 42, 3, 18).image.pixels != a.image.pixels);
}

TEST_CASE("transforms: JSON is strict and names the path", "[data][transforms]") {
    SECTION("unknown type lists the allowed types") {
        const std::string e = error_of(json::parse(R"([{"type": "hflip"}, {"type": "colour_jitter"}])"));
        REQUIRE_THAT(e, Catch::Contains("transforms[1].type") && Catch::Contains("colour_jitter") &&
                            Catch::Contains("color_jitter") && Catch::Contains("random_crop"));
    }
    SECTION("unknown key lists the allowed keys") {
        const std::string e = error_of(json::parse(R"([{"type": "color_jitter", "brigthness": 0.2}])"));
        REQUIRE_THAT(e, Catch::Contains("transforms[0].brigthness") && Catch::Contains("brightness, contrast"));
    }
    SECTION("wrong types and ranges") {
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "hflip", "p": "half"}])")),
                     Catch::Contains("transforms[0].p") && Catch::Contains("number"));
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "hflip", "p": 1.5}])")), Catch::Contains("out of range"));
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "random_crop"}])")),
                     Catch::Contains("missing required key \"size\""));
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "random_crop", "size": [0, 4]}])")),
                     Catch::Contains("positive"));
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "random_scale", "min": 2, "max": 1}])")),
                     Catch::Contains("larger than max"));
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "normalize", "scale": "0-100"}])")),
                     Catch::Contains("0-1, 0-255"));
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "normalize", "std": [0.2, 0, 1]}])")),
                     Catch::Contains("positive"));
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "color_jitter", "hue": 0.7}])")),
                     Catch::Contains("transforms[0].hue"));
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "gaussian_blur", "kernel_size": 4}])")), Catch::Contains("odd"));
        REQUIRE_THAT(error_of(json::parse(R"([{"type": "resize"}])")), Catch::Contains("exactly one of"));
        REQUIRE_THAT(error_of(json::parse(R"({"type": "hflip"})")), Catch::Contains("expected an array"));
        REQUIRE_THAT(error_of(json::parse(R"([{"p": 0.5}])")), Catch::Contains("transforms[0].type"));
    }
    SECTION("the path prefix is the caller's") {
        try {
            Compose::from_json(json::parse(R"([{"type": "hflip", "q": 1}])"), {}, "data.train.transforms");
            FAIL("no error");
        } catch (const Error& e) {
            REQUIRE_THAT(e.message(), Catch::Contains("data.train.transforms[0].q"));
        }
    }
}

TEST_CASE("transforms: JSON round trip and named pipelines", "[data][transforms]") {
    const json all = json::parse(R"([
        {"type": "resize", "size": [64, 80]}, {"type": "resize", "short_side": 50, "max_long_side": 90},
        {"type": "random_scale", "min": 0.75, "max": 1.5},
        {"type": "random_crop", "size": [32, 32], "pad_value": [1, 2, 3], "ignore_index": 11, "cat_max_ratio": 0.9},
        {"type": "pad", "size_divisor": 32}, {"type": "hflip", "p": 0.25}, {"type": "vflip"},
        {"type": "random_rotate", "degrees": 15, "p": 0.5},
        {"type": "color_jitter", "brightness": [0.5, 1.5], "contrast": 0.1, "saturation": 0.3, "hue": 0.1, "random_order": false, "p": 0.8},
        {"type": "gaussian_blur", "sigma": [0.1, 2], "kernel_size": 5, "p": 0.2},
        {"type": "gaussian_noise", "std": [1, 4], "p": 0.3},
        {"type": "normalize", "mean": [0.5], "std": [0.25], "scale": "0-1", "order": "bgr"}])");
    const Compose c = Compose::from_json(all);
    REQUIRE(c.transforms().size() == all.size());
    const json saved = c.to_json();
    REQUIRE(Compose::from_json(saved).to_json() == saved);
    REQUIRE(saved[8]["brightness"] == json::array({0.5, 1.5}));
    REQUIRE(saved[7]["degrees"] == json::array({-15.0, 15.0}));
    REQUIRE(transform_types().size() == 11);

    const Compose train = standard_train_transforms(24, 32, 11);
    const Sample s = make_sample(20, 30, {0, 1}, 3);
    Sample t = s;
    SampleRng rng(0, 0, 0);
    train.apply(t, rng);
    REQUIRE(t.image.height == 24);
    REQUIRE(t.image.width == 32);
    REQUIRE(subset_of(label_set(t.mask), {0, 1}, 11));
    Sample e = s;
    eval_transforms().apply(e, rng);
    REQUIRE(e.mask.labels == s.mask.labels);
    REQUIRE(e.image.pixels[0] == Approx((s.image.pixels[0] / 255.0 - 0.485) / 0.229).epsilon(1e-5));
}

TEST_CASE("transforms: unlabelled samples and pad", "[data][transforms]") {
    Sample s = make_sample(10, 13, {0}, 2);
    s.mask = Mask{};
    const Sample out = run(standard_train_transforms_json(16, 16), s);
    REQUIRE(out.image.height == 16);
    REQUIRE(out.mask.labels.empty());
    const Sample padded = run(json::parse(R"([{"type": "pad", "size_divisor": 8}])"), make_sample(10, 13, {4}, 1));
    REQUIRE(padded.image.height == 16);
    REQUIRE(padded.image.width == 16);
    REQUIRE(padded.mask.at(15, 15) == 255);
    REQUIRE(padded.mask.at(9, 12) == 4);
}
