// Prediction on files (seg/inference/predict.h): a model file alone is enough; every input form
// (image, list, folder) works; the expected PNGs appear and hold the prediction; ground-truth
// masks (index or CamVid colour) give error maps; .npy logits/probabilities hold the predictor's
// numbers; bad inputs are errors naming the file.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/file_util.h"
#include "data/image_io.h"
#include "kernels/ops.h"
#include "seg/inference/input_size.h"
#include "seg/inference/model_card.h"
#include "seg/inference/predict.h"
#include "seg/inference/visualize.h"
#include "seg/models/model_file.h"
#include "seg/models/registry.h"
#include "tests/seg/inference_test_util.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

data::Image random_image(int64_t h, int64_t w, uint32_t seed) {
    data::Image im;
    im.height = h, im.width = w, im.channels = 3;
    im.pixels.resize(size_t(h * w * 3));
    uint32_t s = seed;
    for (auto& p : im.pixels) {
        s = s * 1664525u + 1013904223u;
        p = uint8_t(s >> 24);
    }
    return im;
}

// A model file loaded as eval and predict load it: the network and its card.
struct ModelWithCard {
    seg::LoadedModel lm;
    seg::ModelCard card;
};
ModelWithCard load_with_card(const std::string& path) {
    seg::LoadedModel lm = seg::load_model_file(path);
    seg::ModelCard card = seg::ModelCard::from_metadata(lm.metadata, path);
    return {std::move(lm), std::move(card)};
}

// A small U-Net saved with a card, as the trainer would write it.
std::string save_tiny_model(const test::TempDir& dir, const json& preprocessing = json::array()) {
    const json spec = {{"name", "unet"}, {"num_classes", 3}, {"depth", 1}, {"base_width", 4}};
    manual_seed(21);
    auto m = seg::build_model(spec);
    seg::ModelCard card;
    card.classes = {"background", "road", "car"};
    card.palette = {{10, 10, 10}, {128, 64, 128}, {64, 0, 128}};
    card.ignore_index = 255;
    card.preprocessing =
        preprocessing.empty()
            ? json::array({{{"type", "normalize"}, {"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}}})
            : preprocessing;
    const std::string path = dir / "model.safetensors";
    seg::save_model_file(*m, spec, path, card.to_metadata());
    return path;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no error";
}

// The values and shape of a (K, H, W) f32 .npy file as data/npy.h writes it (tests/data/test_npy.cpp
// checks the format itself, byte by byte).
std::vector<float> read_npy_chw(const std::string& path, int64_t k, int64_t h, int64_t w) {
    const std::vector<uint8_t> b = data::read_file_bytes(path);
    REQUIRE(b.size() >= 10);
    const size_t offset = 10 + size_t(b[8] | (b[9] << 8));
    const std::string header(b.begin() + 10, b.begin() + long(offset));
    const std::string shape = "(" + std::to_string(k) + ", " + std::to_string(h) + ", " + std::to_string(w) + ")";
    CHECK(header.find("'descr': '<f4'") != std::string::npos);
    CHECK(header.find("'shape': " + shape) != std::string::npos);
    REQUIRE(b.size() == offset + size_t(k * h * w) * 4);
    std::vector<float> v(size_t(k * h * w));
    std::memcpy(v.data(), b.data() + offset, b.size() - offset);
    return v;
}

std::vector<float> host_values(const Tensor& t) {
    const Tensor c = t.cpu().contiguous();
    return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

}  // namespace

TEST_CASE("predict: a folder of images, from the model file alone", "[seg][inference][predict]") {
    test::TempDir dir("predict");
    const std::string model_path = save_tiny_model(dir);
    fs::create_directories(dir / "images");
    fs::create_directories(dir / "masks");
    const data::Image a = random_image(21, 30, 1), b = random_image(17, 25, 2);
    data::write_png(dir / "images/b_frame.png", b);
    data::write_png(dir / "images/a_frame.png", a);
    std::ofstream(dir / "images/notes.txt") << "not an image\n";

    const auto [lm, card] = load_with_card(model_path);
    const seg::Predictor predictor(*lm.model, card, card.inference);

    const std::vector<std::string> inputs = seg::expand_inputs({dir / "images"});
    REQUIRE(inputs.size() == 2);
    CHECK(fs::path(inputs[0]).filename() == "a_frame.png");  // sorted

    // Ground truth: an index mask for a_frame (right where the model says class 1 or 0), a CamVid-style
    // colour mask for b_frame.
    const seg::Prediction pa = predictor.predict(a);
    data::Mask ta = pa.labels;
    int64_t changed = 0;
    for (size_t i = 0; i < ta.labels.size(); i += 7) {
        ta.labels[i] = (ta.labels[i] + 1) % 3;
        ++changed;
    }
    ta.labels[1] = 255;
    data::write_index_png(dir / "masks/a_frame.png", ta);
    const seg::Prediction pb = predictor.predict(b);
    data::write_png(dir / "masks/b_frame_L.png", seg::colorize_mask(pb.labels, card.palette));

    seg::PredictOptions po;
    po.out_dir = dir / "out";
    po.entropy = true;
    po.masks_dir = dir / "masks";
    int64_t reported = 0;
    const auto files = seg::predict_files(predictor, inputs, po, [&](const seg::PredictedFile&) { ++reported; });
    REQUIRE(files.size() == 2);
    CHECK(reported == 2);
    for (const std::string stem : {"a_frame", "b_frame"})
        for (const std::string suffix : {"_index.png", "_color.png", "_overlay.png", "_entropy.png", "_error.png"})
            CHECK(fs::exists(dir / ("out/" + stem + suffix)));

    // The index PNG holds the prediction; the colour PNG its palette colours; the overlay has a legend.
    const data::Mask back = data::read_mask(dir / "out/a_frame_index.png");
    CHECK(back.labels == pa.labels.labels);
    CHECK(data::read_image(dir / "out/a_frame_color.png").pixels == seg::colorize_mask(pa.labels, card.palette).pixels);
    const data::ImageInfo ov = data::read_image_info(dir / "out/a_frame_overlay.png");
    CHECK(ov.width > a.width);
    CHECK(ov.height >= a.height);
    CHECK(data::read_image_info(dir / "out/b_frame_entropy.png").width == b.width);

    // Accuracy against the masks: b is perfect, a is wrong exactly where it was changed.
    CHECK(files[1].truth == dir / "masks/b_frame_L.png");
    CHECK(files[1].pixel_accuracy == 1.0);
    CHECK(files[0].counted == a.height * a.width - 1);
    CHECK(files[0].correct == files[0].counted - changed);  // pixel 1 (ignored) was not changed
    CHECK(files[0].pixel_accuracy == Approx(double(files[0].correct) / double(files[0].counted)));

    // The probabilities are the ones infer_probabilities gives for the preprocessed image.
    REQUIRE(pa.probs.shape() == Shape{1, 3, 21, 30});
    CHECK_FALSE(std::isnan(pa.probs.data<float>()[0]));
}

TEST_CASE("predict: lists, single files and a resizing preprocessing", "[seg][inference][predict]") {
    test::TempDir dir("predict_list");
    // A preprocessing that resizes: outputs still come at the image's own size.
    const json pre = json::array({{{"type", "resize"}, {"size", {16, 16}}},
                                  {{"type", "normalize"}, {"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}}});
    const std::string model_path = save_tiny_model(dir, pre);
    fs::create_directories(dir / "imgs");
    data::write_png(dir / "imgs/x.png", random_image(23, 31, 3));
    data::write_png(dir / "y.png", random_image(9, 12, 4));
    std::ofstream(dir / "imgs/list.txt") << "# a comment\n\nx.png\n";

    const std::vector<std::string> inputs = seg::expand_inputs({dir / "imgs/list.txt", dir / "y.png"});
    REQUIRE(inputs.size() == 2);
    CHECK(inputs[0] == dir / "imgs/x.png");  // relative to the list's folder

    const auto [lm, card] = load_with_card(model_path);
    seg::InferOptions opt = card.inference;
    opt.flip = true;
    const seg::Predictor predictor(*lm.model, card, opt);
    seg::PredictOptions po;
    po.out_dir = dir / "out";
    seg::predict_files(predictor, inputs, po);
    CHECK(data::read_mask(dir / "out/x_index.png").width == 31);
    CHECK(data::read_mask(dir / "out/y_index.png").height == 9);
    CHECK_FALSE(fs::exists(dir / "out/x_entropy.png"));
    CHECK_FALSE(fs::exists(dir / "out/x_error.png"));
}

TEST_CASE("predict: --save-logits / --save-probs write the predictor's numbers as .npy", "[seg][inference][predict]") {
    using Catch::Contains;
    test::TempDir dir("predict_npy");
    // A resizing preprocessing: the arrays come at the image's own size, as the labels do.
    const json pre = json::array({{{"type", "resize"}, {"size", {16, 16}}},
                                  {{"type", "normalize"}, {"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}}});
    const std::string model_path = save_tiny_model(dir, pre);
    const data::Image image = random_image(19, 27, 5);
    data::write_png(dir / "frame.png", image);
    const auto [lm, card] = load_with_card(model_path);
    seg::InferOptions opt = card.inference;
    opt.flip = false;
    opt.scales = {1.0};
    const seg::Predictor predictor(*lm.model, card, opt);

    seg::PredictOptions po;
    po.out_dir = dir / "out";
    po.save_logits = true;
    po.save_probs = true;
    const auto files = seg::predict_files(predictor, {dir / "frame.png"}, po);
    REQUIRE(files.size() == 1);
    CHECK(std::count(files[0].outputs.begin(), files[0].outputs.end(), dir / "out/frame_logits.npy") == 1);
    CHECK(std::count(files[0].outputs.begin(), files[0].outputs.end(), dir / "out/frame_probs.npy") == 1);

    const seg::Prediction ref = predictor.predict_input(predictor.prepare(image), 19, 27, "frame", true);
    REQUIRE(ref.probs.shape() == Shape{1, 3, 19, 27});
    const std::vector<float> probs = read_npy_chw(dir / "out/frame_probs.npy", 3, 19, 27);
    const std::vector<float> logits = read_npy_chw(dir / "out/frame_logits.npy", 3, 19, 27);
    CHECK(probs == host_values(ref.probs));
    CHECK(probs == host_values(predictor.predict(image).probs));  // what predict without logits gives
    CHECK(logits == host_values(ref.logits));
    // The saved probabilities sum to 1 per pixel and the index PNG is their argmax.
    const data::Mask labels = data::read_mask(dir / "out/frame_index.png");
    const int64_t plane = 19 * 27;
    for (int64_t p = 0; p < plane; ++p) {
        int best = 0;
        double sum = 0;
        for (int c = 0; c < 3; ++c) {
            sum += probs[size_t(c * plane + p)];
            if (probs[size_t(c * plane + p)] > probs[size_t(best * plane + p)]) best = c;
        }
        CHECK(sum == Approx(1.0).margin(1e-5));
        if (labels.labels[size_t(p)] != best)
            FAIL("pixel " << p << ": label " << labels.labels[size_t(p)] << ", argmax " << best);
    }

    // With flip TTA, probabilities still save; logits are refused before anything is written, also
    // with skip_bad (which would otherwise skip every image for it).
    seg::InferOptions tta = opt;
    tta.flip = true;
    const seg::Predictor tta_predictor(*lm.model, card, tta);
    po.out_dir = dir / "tta";
    po.save_logits = false;
    seg::predict_files(tta_predictor, {dir / "frame.png"}, po);
    CHECK(read_npy_chw(dir / "tta/frame_probs.npy", 3, 19, 27) == host_values(tta_predictor.predict(image).probs));
    po.out_dir = dir / "tta2";
    po.save_logits = true;
    po.skip_bad = true;
    CHECK_THAT(error_of([&] { seg::predict_files(tta_predictor, {dir / "frame.png"}, po); }),
               Contains("--save-logits") && Contains("flip"));
    CHECK_FALSE(fs::exists(dir / "tta2"));
}

TEST_CASE("predict: errors name the file", "[seg][inference][predict]") {
    using Catch::Contains;
    test::TempDir dir("predict_err");
    const std::string model_path = save_tiny_model(dir);
    const auto [lm, card] = load_with_card(model_path);
    const seg::Predictor predictor(*lm.model, card, card.inference);

    CHECK_THAT(error_of([&] { seg::expand_inputs({dir / "missing.png"}); }), Contains("missing.png"));
    std::ofstream(dir / "list.txt") << "nothere.jpg\n";
    CHECK_THAT(error_of([&] { seg::expand_inputs({dir / "list.txt"}); }),
               Contains("list.txt:1") && Contains("nothere.jpg"));
    fs::create_directories(dir / "empty");
    CHECK_THAT(error_of([&] { seg::expand_inputs({dir / "empty"}); }), Contains("no .png"));

    std::ofstream(dir / "broken.png") << "this is not a png";
    seg::PredictOptions po;
    po.out_dir = dir / "out";
    CHECK_THAT(error_of([&] { seg::predict_files(predictor, {dir / "broken.png"}, po); }), Contains("broken.png"));

    fs::create_directories(dir / "a");
    fs::create_directories(dir / "b");
    data::write_png(dir / "a/same.png", random_image(8, 8, 5));
    data::write_png(dir / "b/same.png", random_image(8, 8, 6));
    CHECK_THAT(error_of([&] {
                   seg::predict_files(predictor, {dir / "a/same.png", dir / "b/same.png"}, po);
               }),
               Contains("same name"));

    fs::create_directories(dir / "masks");
    data::Mask small;
    small.height = 4, small.width = 4;
    small.labels.assign(16, 0);
    data::write_index_png(dir / "masks/same.png", small);
    po.masks_dir = dir / "masks";
    CHECK_THAT(error_of([&] { seg::predict_files(predictor, {dir / "a/same.png"}, po); }),
               Contains("masks/same.png") && Contains("a/same.png") && Contains("4x4"));
    CHECK(seg::find_truth_mask(dir / "masks", "other").empty());
}

namespace {

// A U-Net that halves its input three times: too small below 8 x 8.
std::string save_deep_model(const test::TempDir& dir) {
    const json spec = {{"name", "unet"}, {"num_classes", 3}, {"depth", 3}, {"base_width", 4}};
    manual_seed(22);
    auto m = seg::build_model(spec);
    seg::ModelCard card;
    card.classes = {"a", "b", "c"};
    const std::string path = dir / "deep.safetensors";
    seg::save_model_file(*m, spec, path, card.to_metadata());
    return path;
}

}  // namespace

TEST_CASE("predict: a too-small image names the file and the model's minimum size", "[seg][inference][predict]") {
    // Before: the error was max_pool2d's own, naming neither the file nor the size needed.
    using Catch::Contains;
    test::TempDir dir("predict_small");
    const std::string model_path = save_deep_model(dir);
    const auto [lm, card] = load_with_card(model_path);
    lm.model->eval();
    const seg::InputSizeRule rule = seg::probe_input_size(*lm.model, 3, Device::cpu());
    REQUIRE(rule.known());
    CHECK(rule.divisor == 1);
    const int64_t m = rule.min_size;
    CHECK(m >= 2);
    CHECK(m <= 8);

    const seg::Predictor predictor(*lm.model, card, card.inference);
    data::write_png(dir / "tiny.png", random_image(m - 1, 40, 7));
    seg::PredictOptions po;
    po.out_dir = dir / "out";
    const std::string msg = error_of([&] { seg::predict_files(predictor, {dir / "tiny.png"}, po); });
    CHECK_THAT(msg, Contains("tiny.png") && Contains("40 x " + std::to_string(m - 1)) && Contains("too small") &&
                        Contains("at least " + std::to_string(m) + " x " + std::to_string(m)));
    // Large enough, but scale TTA makes a view that is not: the view is named.
    data::write_png(dir / "mid.png", random_image(m, m, 8));
    seg::InferOptions half = card.inference;
    half.scales = {0.5, 1.0};
    const seg::Predictor halving(*lm.model, card, half);
    CHECK_THAT(error_of([&] { seg::predict_files(halving, {dir / "mid.png"}, po); }),
               Contains("mid.png") && Contains("smallest view") && Contains("too small"));
    CHECK(seg::smallest_view(100, 60, half) == std::pair<int64_t, int64_t>{50, 30});
    seg::InferOptions sliding;
    sliding.mode = "sliding";
    sliding.crop_h = 16, sliding.crop_w = 12;
    CHECK(seg::smallest_view(100, 10, sliding) == std::pair<int64_t, int64_t>{16, 10});
}

TEST_CASE("predict: --skip-bad reports unreadable and too-small images and goes on", "[seg][inference][predict]") {
    // Before: the first bad image stopped the folder, and a symlink loop in it stopped the listing.
    test::TempDir dir("predict_skip");
    const std::string model_path = save_deep_model(dir);
    const auto [lm, card] = load_with_card(model_path);
    const seg::Predictor predictor(*lm.model, card, card.inference);
    fs::create_directories(dir / "in");
    data::write_png(dir / "in/a_good.png", random_image(16, 16, 1));
    std::ofstream(dir / "in/b_broken.png") << "not a png";
    data::write_png(dir / "in/c_tiny.png", random_image(1, 1, 2));
    fs::create_symlink("d_loop.png", dir / "in/d_loop.png");
    fs::create_symlink(dir / "nowhere.png", dir / "in/e_dangling.png");
    data::write_png(dir / "in/f_good.png", random_image(12, 20, 3));

    const std::vector<std::string> inputs = seg::expand_inputs({dir / "in"});
    REQUIRE(inputs.size() == 6);
    seg::PredictOptions po;
    po.out_dir = dir / "out";
    // Without --skip-bad the first bad image stops the run, by name.
    CHECK_THAT(error_of([&] { seg::predict_files(predictor, inputs, po); }), Catch::Contains("b_broken.png"));
    po.skip_bad = true;
    std::vector<std::string> skipped;
    const auto files = seg::predict_files(predictor, inputs, po, [&](const seg::PredictedFile& f) {
        if (!f.error.empty()) skipped.push_back(fs::path(f.image).filename().string());
    });
    REQUIRE(files.size() == 6);
    CHECK(skipped == std::vector<std::string>{"b_broken.png", "c_tiny.png", "d_loop.png", "e_dangling.png"});
    CHECK_THAT(files[2].error, Catch::Contains("too small"));
    CHECK(files[0].error.empty());
    CHECK(fs::exists(dir / "out/a_good_index.png"));
    CHECK(fs::exists(dir / "out/f_good_index.png"));
    CHECK_FALSE(fs::exists(dir / "out/c_tiny_index.png"));
}

TEST_CASE("predict --masks: labels outside the classes are an error, as in eval and train",
          "[seg][inference][predict]") {
    // Before: a label 7 in a 3-class mask was counted as a wrong pixel.
    test::TempDir dir("predict_labels");
    const std::string model_path = save_tiny_model(dir);
    const auto [lm, card] = load_with_card(model_path);
    const seg::Predictor predictor(*lm.model, card, card.inference);
    fs::create_directories(dir / "masks");
    data::write_png(dir / "x.png", random_image(6, 6, 9));
    data::Mask bad;
    bad.height = 6, bad.width = 6;
    bad.labels.assign(36, 1);
    bad.labels[3] = 7;
    bad.labels[4] = 255;  // the ignore index is fine
    data::write_index_png(dir / "masks/x.png", bad);
    seg::PredictOptions po;
    po.out_dir = dir / "out";
    po.masks_dir = dir / "masks";
    const std::string msg = error_of([&] { seg::predict_files(predictor, {dir / "x.png"}, po); });
    CHECK_THAT(msg, Catch::Contains("masks/x.png") && Catch::Contains("1 pixels have labels outside") &&
                        Catch::Contains("value 7"));
    CHECK_FALSE(fs::exists(dir / "out/x_index.png"));  // the mask is read before anything is written
}

TEST_CASE("model card: image_channels follows the model, and a missing preprocessing is warned about",
          "[seg][inference][predict]") {
    using Catch::Contains;
    const json spec3 = {{"name", "unet"}, {"num_classes", 2}, {"depth", 1}, {"base_width", 4}};
    json spec1 = spec3;
    spec1["in_channels"] = 1;
    // Before: a card saying 1 channel for a 3-channel network was accepted by eval (which read the
    // dataset's channels) and failed in predict.
    CHECK_THAT(error_of([&] {
                   seg::ModelCard::from_metadata({{"model", spec3.dump()}, {"image_channels", "1"}}, "m.safetensors");
               }),
               Contains("m.safetensors") && Contains("image_channels") && Contains("takes 3 input channel"));
    CHECK(seg::ModelCard::from_metadata({{"model", spec1.dump()}}, "m").image_channels == 1);
    CHECK(seg::ModelCard::from_metadata({{"model", spec1.dump()}, {"image_channels", "1"}}, "m").image_channels == 1);

    const seg::ModelCard bare = seg::ModelCard::from_metadata({{"model", spec3.dump()}}, "fcn.safetensors");
    CHECK_FALSE(bare.preprocessing_recorded);
    CHECK_THAT(seg::missing_preprocessing_warning(bare, "fcn.safetensors"),
               Contains("WARNING: fcn.safetensors records no preprocessing") && Contains("--preset imagenet"));
    const seg::ModelCard raw =
        seg::ModelCard::from_metadata({{"model", spec3.dump()}, {"preprocessing", "[]"}}, "raw.safetensors");
    CHECK(seg::missing_preprocessing_warning(raw, "raw.safetensors").empty());
}
