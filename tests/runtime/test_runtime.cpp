// The embedding runtime's Session (seg/runtime/segcore_runtime.h): results equal seg::Predictor's
// (the path of `segcore predict`) bit for bit for every pixel format and inference mode, outputs
// into caller-owned and runtime-allocated buffers agree, and bad inputs are errors with the right
// code and a message that names the problem.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>

#include "seg/inference/predict.h"
#include "seg/runtime/segcore_runtime.h"
#include "tests/runtime/runtime_test_util.h"
#include "tests/seg/inference_test_util.h"

using namespace segcore;
using json = nlohmann::json;
namespace rt = segcore::runtime;

namespace {

struct Reference {
    seg::LoadedModel lm;
    seg::ModelCard card;
    std::unique_ptr<seg::Predictor> predictor;
    explicit Reference(const std::string& path) : lm(seg::load_model_file(path)) {
        card = seg::ModelCard::from_metadata(lm.metadata, path);
        predictor = std::make_unique<seg::Predictor>(*lm.model, card, card.inference);
    }
};

data::Image as_image(const std::vector<uint8_t>& px, int64_t h, int64_t w) {
    data::Image im;
    im.height = h, im.width = w, im.channels = 3;
    im.pixels = px;
    return im;
}

std::vector<float> host_floats(const Tensor& t) {
    const Tensor c = t.cpu().contiguous();
    return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

rt::ErrorCode code_of(const std::function<void()>& f, std::string* message = nullptr) {
    try {
        f();
    } catch (const rt::Error& e) {
        if (message) *message = e.what();
        return e.code();
    }
    FAIL("no runtime::Error thrown");
    return rt::ErrorCode::Runtime;
}

}  // namespace

TEST_CASE("runtime: results equal the Predictor's bit for bit", "[runtime]") {
    test::TempDir dir("runtime_equal");
    const std::string path = dir / "model.safetensors";
    // whole image; a resizing preprocessing (outputs resized back); sliding windows; flip TTA.
    const json resize = json::array({{{"type", "resize"}, {"size", {16, 20}}},
                                     {{"type", "normalize"}, {"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}}});
    const json sliding = {{"mode", "sliding"}, {"crop", {12, 12}}, {"stride", {8, 8}}};
    const json flip = {{"mode", "whole"}, {"flip", true}};
    const int variant = GENERATE(0, 1, 2, 3);
    test::save_runtime_model(path, 3, variant == 1 ? resize : json(nullptr),
                             variant == 2   ? sliding
                             : variant == 3 ? flip
                                            : json(nullptr));
    const Reference ref(path);
    const rt::Session session(path);
    REQUIRE(session.num_classes() == 3);
    REQUIRE(session.class_names()[2] == "class2");

    for (auto [h, w] : {std::pair<int64_t, int64_t>{17, 23}, {32, 32}, {9, 30}}) {
        const std::vector<uint8_t> px = test::random_pixels(h, w, 3, uint32_t(h * 100 + w));
        const seg::Prediction want = ref.predictor->predict(as_image(px, h, w));
        const std::vector<float> want_probs = host_floats(want.probs);

        rt::Request req{.labels = true, .probabilities = true, .confidence = true, .entropy = true};
        const rt::Result got = session.run({px.data(), h, w, rt::PixelFormat::RGB8}, req);
        REQUIRE(got.labels_u8.size() == size_t(h * w));
        for (size_t i = 0; i < got.labels_u8.size(); ++i) REQUIRE(int32_t(got.labels_u8[i]) == want.labels.labels[i]);
        REQUIRE(std::memcmp(got.probabilities.data(), want_probs.data(), want_probs.size() * sizeof(float)) == 0);
        // confidence = the largest probability; entropy = -sum p ln p.
        for (int64_t i = 0; i < h * w; ++i) {
            float best = 0;
            double ent = 0;
            for (int64_t k = 0; k < 3; ++k) {
                const float p = want_probs[size_t(k * h * w + i)];
                best = std::max(best, p);
                ent -= p > 0 ? double(p) * std::log(double(p)) : 0.0;
            }
            REQUIRE(got.confidence[size_t(i)] == best);
            REQUIRE(got.entropy[size_t(i)] == Approx(ent).margin(1e-6));
        }

        // The same picture as BGR, and with padded rows: the same bits.
        std::vector<uint8_t> bgr(px.size()), padded(size_t(h * (w * 3 + 5)), 0);
        for (int64_t p = 0; p < h * w; ++p)
            for (int64_t c = 0; c < 3; ++c) bgr[size_t(p * 3 + c)] = px[size_t(p * 3 + 2 - c)];
        for (int64_t y = 0; y < h; ++y)
            std::memcpy(&padded[size_t(y * (w * 3 + 5))], &px[size_t(y * w * 3)], size_t(w * 3));
        const rt::Result from_bgr = session.run({bgr.data(), h, w, rt::PixelFormat::BGR8}, req);
        const rt::Result from_padded = session.run({padded.data(), h, w, rt::PixelFormat::RGB8, w * 3 + 5}, req);
        CHECK(from_bgr.labels_u8 == got.labels_u8);
        CHECK(from_bgr.probabilities == got.probabilities);
        CHECK(from_padded.probabilities == got.probabilities);

        // Caller-owned buffers hold what the runtime allocates.
        std::vector<uint16_t> labels16(size_t(h * w));
        std::vector<float> conf(size_t(h * w));
        session.run({px.data(), h, w, rt::PixelFormat::RGB8},
                    rt::OutputBuffers{.labels_u16 = labels16.data(), .confidence = conf.data()});
        for (size_t i = 0; i < labels16.size(); ++i) REQUIRE(labels16[i] == got.labels_u8[i]);
        CHECK(conf == got.confidence);

        // F32NCHW: the preprocessed tensor itself gives the same result (without a resize in the
        // preprocessing, where the output size is the tensor's own).
        if (variant != 1) {
            const std::vector<float> x = host_floats(ref.predictor->prepare(as_image(px, h, w)));
            const rt::Result from_f32 = session.run({x.data(), h, w, rt::PixelFormat::F32NCHW}, req);
            CHECK(from_f32.probabilities == got.probabilities);
            CHECK(from_f32.labels_u8 == got.labels_u8);
        }

        // Logits: those of the Predictor's one-variant path; refused under TTA.
        if (variant == 3) {
            std::string msg;
            CHECK(code_of(
                      [&] {
                          session.run({px.data(), h, w, rt::PixelFormat::RGB8}, {.logits = true});
                      },
                      &msg) == rt::ErrorCode::Runtime);
            CHECK_THAT(msg, Catch::Contains("logits are not defined with flip"));
        } else {
            const seg::Prediction with_logits =
                ref.predictor->predict_input(ref.predictor->prepare(as_image(px, h, w)), h, w, "image", true);
            const rt::Result lg =
                session.run({px.data(), h, w, rt::PixelFormat::RGB8}, {.labels = true, .logits = true});
            CHECK(lg.logits == host_floats(with_logits.logits));
            CHECK(lg.labels_u8 == got.labels_u8);
            CHECK(host_floats(with_logits.probs) == want_probs);  // asking for logits changes nothing
        }
    }
}

TEST_CASE("runtime: errors carry a code and say what is wrong", "[runtime]") {
    test::TempDir dir("runtime_errors");
    const std::string path = dir / "model.safetensors";
    test::save_runtime_model(path);
    std::string msg;

    CHECK(code_of([&] { rt::Session(dir / "missing.safetensors"); }, &msg) == rt::ErrorCode::Model);
    CHECK_THAT(msg, Catch::Contains("missing.safetensors"));
    std::ofstream(dir / "corrupt.safetensors") << "not a model";
    CHECK(code_of([&] { rt::Session(dir / "corrupt.safetensors"); }, &msg) == rt::ErrorCode::Model);
    CHECK_THAT(msg, Catch::Contains("corrupt.safetensors"));
    CHECK(code_of([&] { rt::Session(path, {.device = "gpu0"}); }, &msg) == rt::ErrorCode::InvalidArgument);
    CHECK_THAT(msg, Catch::Contains("gpu0"));
    CHECK(code_of([&] { rt::Session(path, {.threads = -1}); }, &msg) == rt::ErrorCode::InvalidArgument);
    CHECK(code_of([&] { rt::Session(path, {.max_batch = 0}); }, &msg) == rt::ErrorCode::InvalidArgument);

    const rt::Session s(path);
    const std::vector<uint8_t> px = test::random_pixels(8, 8, 3, 1);
    CHECK(code_of([&] { s.run({px.data(), 8, 8, rt::PixelFormat::Gray8}); }, &msg) == rt::ErrorCode::InvalidArgument);
    CHECK_THAT(msg, Catch::Contains("3 channel(s), got a Gray8 image"));
    CHECK(code_of([&] { s.run({px.data(), 0, 8, rt::PixelFormat::RGB8}); }, &msg) == rt::ErrorCode::InvalidArgument);
    CHECK_THAT(msg, Catch::Contains("at least 1x1"));
    CHECK(code_of([&] { s.run({nullptr, 8, 8, rt::PixelFormat::RGB8}); }, &msg) == rt::ErrorCode::InvalidArgument);
    CHECK(code_of([&] { s.run({px.data(), 8, 8, rt::PixelFormat::RGB8, 5}); }, &msg) == rt::ErrorCode::InvalidArgument);
    CHECK_THAT(msg, Catch::Contains("row_stride 5"));
    CHECK(code_of(
              [&] {
                  s.run({px.data(), 8, 8, rt::PixelFormat::RGB8}, rt::OutputBuffers{});
              },
              &msg) == rt::ErrorCode::InvalidArgument);
    // An image smaller than the U-Net's minimum (it halves once): a runtime error naming the size.
    CHECK(code_of([&] { s.run({px.data(), 1, 1, rt::PixelFormat::RGB8}); }, &msg) == rt::ErrorCode::Runtime);
    // The session still works after errors.
    CHECK(s.run({px.data(), 8, 8, rt::PixelFormat::RGB8}).labels_u8.size() == 64);
}

TEST_CASE("runtime: more than 256 classes come as u16 labels; reduced precision runs", "[runtime]") {
    test::TempDir dir("runtime_u16");
    const std::string path = dir / "model.safetensors";
    test::save_runtime_model(path, 300);
    const rt::Session s(path);
    const std::vector<uint8_t> px = test::random_pixels(8, 8, 3, 2);
    const rt::Result r = s.run({px.data(), 8, 8, rt::PixelFormat::RGB8});
    CHECK(r.labels_u8.empty());
    REQUIRE(r.labels_u16.size() == 64);
    for (uint16_t l : r.labels_u16) CHECK(l < 300);
    std::vector<uint8_t> u8(64);
    std::string msg;
    CHECK(code_of(
              [&] {
                  s.run({px.data(), 8, 8, rt::PixelFormat::RGB8}, rt::OutputBuffers{.labels_u8 = u8.data()});
              },
              &msg) == rt::ErrorCode::InvalidArgument);
    CHECK_THAT(msg, Catch::Contains("labels_u16"));

    for (rt::Precision precision : {rt::Precision::BF16, rt::Precision::F16}) {
        const rt::Session low(path, {.precision = precision});
        const rt::Result rb = low.run({px.data(), 8, 8, rt::PixelFormat::RGB8}, {.probabilities = true});
        REQUIRE(rb.probabilities.size() == size_t(300 * 64));
        for (float p : rb.probabilities) REQUIRE(std::isfinite(p));
    }
}
