// Prediction on files (seg/inference/predict.h): a model file alone is enough; every input form
// (image, list, folder) works; the expected PNGs appear and hold the prediction; ground-truth
// masks (index or CamVid colour) give error maps; bad inputs are errors naming the file.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/image_io.h"
#include "kernels/ops.h"
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

    const seg::LoadedModel lm = seg::load_model_file(model_path);
    const seg::ModelCard card = seg::ModelCard::from_metadata(lm.metadata, model_path);
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

    const seg::LoadedModel lm = seg::load_model_file(model_path);
    const seg::ModelCard card = seg::ModelCard::from_metadata(lm.metadata, model_path);
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

TEST_CASE("predict: errors name the file", "[seg][inference][predict]") {
    using Catch::Contains;
    test::TempDir dir("predict_err");
    const std::string model_path = save_tiny_model(dir);
    const seg::LoadedModel lm = seg::load_model_file(model_path);
    const seg::ModelCard card = seg::ModelCard::from_metadata(lm.metadata, model_path);
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
