// Inference (seg/inference/infer.h): whole-image results are softmax(model(x)) bit for bit;
// sliding windows follow mmseg's layout and average overlapping logits; flip and multi-scale TTA
// average the variants' probabilities; options round-trip through JSON and bad ones are errors
// naming the path. Also the model card (model_card.h) and the evaluation loop (evaluate.h).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/grad_mode.h"
#include "data/dataset.h"
#include "data/synth.h"
#include "data/transforms.h"
#include "kernels/ops.h"
#include "kernels/shape/flip.h"
#include "seg/inference/evaluate.h"
#include "seg/inference/infer.h"
#include "seg/inference/model_card.h"
#include "seg/inference/visualize.h"
#include "seg/models/model_file.h"
#include "seg/models/registry.h"
#include "tests/seg/inference_test_util.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;
using segcore::test::ConvNet;
using segcore::test::Tolerance;

namespace {

const Tolerance kExact{0, 0};
const Tolerance kClose{1e-6, 1e-5};

std::shared_ptr<seg::SegModel> tiny_unet(int64_t classes = 3) {
    manual_seed(11);
    auto m = seg::build_model(json{{"name", "unet"}, {"num_classes", classes}, {"depth", 2}, {"base_width", 4}});
    m->eval();
    return m;
}

Tensor logits_of(seg::SegModel& m, const Tensor& x) {
    autograd::NoGradGuard g;
    return m(autograd::Variable(x)).data();
}

seg::InferOptions sliding(int64_t ch, int64_t cw, int64_t sh = 0, int64_t sw = 0) {
    seg::InferOptions o;
    o.mode = "sliding";
    o.crop_h = ch, o.crop_w = cw, o.stride_h = sh, o.stride_w = sw;
    return o;
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

// ---- whole and sliding ----

TEST_CASE("infer: whole mode is softmax(model(x)) bit for bit", "[seg][inference]") {
    auto unet = tiny_unet();
    manual_seed(3);
    ConvNet conv(3, 5, 3);
    conv.eval();
    Generator gen(1);
    const Tensor x = randn({2, 3, 19, 23}, {}, &gen);
    for (seg::SegModel* m : {static_cast<seg::SegModel*>(unet.get()), static_cast<seg::SegModel*>(&conv)}) {
        const Tensor p = seg::infer_probabilities(*m, x, seg::InferOptions{});
        REQUIRE(p.shape() == Shape{2, m->num_classes(), 19, 23});
        REQUIRE(p.dtype() == DType::F32);
        REQUIRE_CLOSE(p, ops::softmax(logits_of(*m, x), 1), kExact);
        REQUIRE_CLOSE(seg::infer_logits(*m, x, seg::InferOptions{}), logits_of(*m, x), kExact);
    }
}

TEST_CASE("infer: a sliding window at least as large as the image equals whole", "[seg][inference]") {
    auto m = tiny_unet();
    Generator gen(2);
    const Tensor x = randn({2, 3, 19, 23}, {}, &gen);
    const Tensor whole = seg::infer_probabilities(*m, x, seg::InferOptions{});
    for (const auto& o : {sliding(19, 23), sliding(32, 40), sliding(19, 64, 5, 7)}) {
        INFO(o.str());
        REQUIRE_CLOSE(seg::infer_probabilities(*m, x, o), whole, kExact);
    }
}

TEST_CASE("window_starts: mmseg's windows, the last one moved back to the border", "[seg][inference]") {
    CHECK(seg::window_starts(37, 16, 11) == std::vector<int64_t>{0, 11, 21});
    CHECK(seg::window_starts(53, 20, 13) == std::vector<int64_t>{0, 13, 26, 33});
    CHECK(seg::window_starts(512, 512, 341) == std::vector<int64_t>{0});  // exact fit: one window
    CHECK(seg::window_starts(10, 16, 11) == std::vector<int64_t>{0});     // smaller than the crop: clipped
    CHECK(seg::window_starts(1024, 512, 341) == std::vector<int64_t>{0, 341, 512});
    CHECK(seg::window_starts(20, 10, 10) == std::vector<int64_t>{0, 10});  // no overlap when stride == crop
    seg::InferOptions o = sliding(512, 769);
    CHECK(o.effective_stride_h() == 341);  // mmseg's crop 512 / stride 341
    CHECK(o.effective_stride_w() == 512);
}

TEST_CASE("infer: sliding windows on a pixelwise model equal the whole image", "[seg][inference]") {
    manual_seed(4);
    ConvNet m(3, 4, 1);
    m.eval();
    Generator gen(3);
    const Tensor x = randn({2, 3, 37, 53}, {}, &gen);
    const Tensor whole = seg::infer_logits(m, x, seg::InferOptions{});
    for (const auto& o : {sliding(16, 20, 11, 13), sliding(16, 20), sliding(7, 9, 1, 2), sliding(37, 10, 5, 3)}) {
        INFO(o.str());
        REQUIRE_CLOSE(seg::infer_logits(m, x, o), whole, kClose);
        REQUIRE_CLOSE(seg::infer_probabilities(m, x, o), ops::softmax(whole, 1), kClose);
    }
}

TEST_CASE("infer: sliding sums the logits of overlapping windows and divides by their count", "[seg][inference]") {
    // A 3x3 convolution with zero padding sees the window's border, so windows disagree near their
    // edges and the average is not the whole-image result: compare against a hand-written loop.
    manual_seed(5);
    ConvNet m(2, 3, 3);
    m.eval();
    Generator gen(4);
    const int64_t n = 2, k = 3, h = 37, w = 53, ch = 16, cw = 20;
    const Tensor x = randn({n, 2, h, w}, {}, &gen);
    const std::vector<int64_t> ys{0, 11, 21}, xs{0, 13, 26, 33};  // window_starts(37, 16, 11), (53, 20, 13)
    std::vector<double> sum(size_t(n * k * h * w), 0.0), count(size_t(h * w), 0.0);
    for (int64_t y0 : ys)
        for (int64_t x0 : xs) {
            const Tensor l = logits_of(m, x.narrow(2, y0, ch).narrow(3, x0, cw).contiguous()).contiguous();
            const float* lp = l.data<float>();
            for (int64_t b = 0; b < n; ++b)
                for (int64_t c = 0; c < k; ++c)
                    for (int64_t i = 0; i < ch; ++i)
                        for (int64_t j = 0; j < cw; ++j)
                            sum[size_t(((b * k + c) * h + y0 + i) * w + x0 + j)] += lp[((b * k + c) * ch + i) * cw + j];
            for (int64_t i = 0; i < ch; ++i)
                for (int64_t j = 0; j < cw; ++j) count[size_t((y0 + i) * w + x0 + j)] += 1;
        }
    std::vector<float> ref(sum.size());
    for (size_t i = 0; i < sum.size(); ++i) ref[i] = float(sum[i] / count[i % size_t(h * w)]);
    const Tensor expected = from_vector(ref, {n, k, h, w});
    const Tensor got = seg::infer_logits(m, x, sliding(ch, cw, 11, 13));
    REQUIRE_CLOSE(got, expected, kClose);
    // ... and the test can fail: near the window edges the result differs from whole inference.
    REQUIRE_FALSE(test::compare(got, seg::infer_logits(m, x, seg::InferOptions{}), kClose).empty());
}

// ---- test-time augmentation ----

TEST_CASE("infer: flip TTA averages the probabilities of the image and its mirror", "[seg][inference]") {
    Generator gen(6);
    const Tensor x = randn({2, 3, 13, 17}, {}, &gen);
    seg::InferOptions flip;
    flip.flip = true;

    SECTION("a flip-equivariant model gives the plain result") {
        manual_seed(6);
        ConvNet sym(3, 4, 3, /*symmetric=*/true);
        sym.eval();
        REQUIRE_CLOSE(seg::infer_probabilities(sym, x, flip), ops::softmax(logits_of(sym, x), 1), kClose);
        seg::InferOptions slide_flip = sliding(8, 9, 5, 4);
        slide_flip.flip = true;
        REQUIRE_CLOSE(seg::infer_probabilities(sym, x, slide_flip),
                      seg::infer_probabilities(sym, x, sliding(8, 9, 5, 4)), kClose);
    }
    SECTION("any model: (softmax(m(x)) + flip(softmax(m(flip(x))))) / 2") {
        manual_seed(7);
        ConvNet m(3, 4, 3);
        m.eval();
        const Tensor a = ops::softmax(logits_of(m, x), 1);
        const Tensor b = ops::flip(ops::softmax(logits_of(m, ops::flip(x, 3)), 1), 3);
        const Tensor expected = ops::div(ops::add(a, b), 2.0);
        const Tensor got = seg::infer_probabilities(m, x, flip);
        REQUIRE_CLOSE(got, expected, kClose);
        REQUIRE_FALSE(test::compare(got, a, kClose).empty());  // the asymmetric model really differs
    }
}

TEST_CASE("infer: multi-scale TTA resizes, predicts, resizes back and averages", "[seg][inference]") {
    auto m = tiny_unet(4);
    Generator gen(7);
    const Tensor x = randn({2, 3, 19, 23}, {}, &gen);
    seg::InferOptions o;

    o.scales = {1.0};
    REQUIRE_CLOSE(seg::infer_probabilities(*m, x, o), ops::softmax(logits_of(*m, x), 1), kExact);

    o.scales = {0.5, 1.25};
    const Tensor p = seg::infer_probabilities(*m, x, o);
    REQUIRE(p.shape() == Shape{2, 4, 19, 23});
    REQUIRE_CLOSE(ops::sum(p, {1}), ones({2, 19, 23}), kClose);  // still probabilities

    o.scales = {0.5, 1.0};
    o.flip = true;
    Tensor expected = zeros({2, 4, 19, 23});
    for (double s : o.scales)
        for (bool f : {false, true}) {
            Tensor xs = s == 1.0 ? x
                                 : ops::interpolate(
                                       x, ops::InterpolateOptions::size(std::llround(19 * s), std::llround(23 * s)));
            if (f) xs = ops::flip(xs, 3);
            Tensor l = logits_of(*m, xs);
            if (f) l = ops::flip(l, 3);
            if (s != 1.0) l = ops::interpolate(l, ops::InterpolateOptions::size(19, 23));
            expected = ops::add(expected, ops::softmax(l, 1));
        }
    expected = ops::div(expected, 4.0);
    REQUIRE_CLOSE(seg::infer_probabilities(*m, x, o), expected, kClose);
}

// ---- options ----

TEST_CASE("InferOptions: JSON round trip, one-line summary", "[seg][inference]") {
    seg::InferOptions o = sliding(512, 1024, 341, 683);
    o.flip = true;
    o.scales = {0.75, 1.0, 1.25};
    CHECK(seg::InferOptions::from_json(o.to_json()) == o);
    CHECK(o.str() == "sliding 512x1024 stride 341x683, flip, scales 0.75,1,1.25");
    const seg::InferOptions d;
    CHECK(seg::InferOptions::from_json(d.to_json()) == d);
    CHECK(seg::InferOptions::from_json(json::object()) == d);
    CHECK(d.str() == "whole");
    CHECK(sliding(512, 512).str() == "sliding 512x512 stride 341x341");
    const auto parsed = seg::InferOptions::from_json(json::parse(R"({"mode": "sliding", "crop": [64, 96]})"));
    CHECK(parsed.crop_h == 64);
    CHECK(parsed.crop_w == 96);
    CHECK(parsed.effective_stride_w() == 64);
}

TEST_CASE("InferOptions: bad values are errors naming the JSON path", "[seg][inference]") {
    using Catch::Contains;
    const auto err = [](const std::string& text) {
        return error_of([&] { seg::InferOptions::from_json(json::parse(text)); });
    };
    CHECK_THAT(err(R"({"crop": [1, 2, 3]})"), Contains("eval.crop: expected [height, width]"));
    CHECK_THAT(err(R"({"crop": [0, 2]})"), Contains("eval.crop[0]"));
    CHECK_THAT(err(R"({"crap": 1})"),
               Contains("eval.crap: unknown key") && Contains("mode, crop, stride, flip, scales"));
    CHECK_THAT(err(R"({"mode": "slide"})"), Contains("eval.mode") && Contains("whole, sliding"));
    CHECK_THAT(err(R"({"mode": "sliding"})"), Contains("eval.crop") && Contains("needs a window size"));
    CHECK_THAT(err(R"({"mode": "sliding", "crop": [8, 8], "stride": [9, 4]})"), Contains("eval.stride"));
    CHECK_THAT(err(R"({"scales": [1, 0]})"), Contains("eval.scales[1]: expected a positive number"));
    CHECK_THAT(err(R"({"scales": []})"), Contains("eval.scales"));
    CHECK_THAT(err(R"({"flip": "yes"})"), Contains("eval.flip"));
    CHECK_THAT(error_of([] { seg::InferOptions::from_json(json::parse(R"({"crop": 5})"), "val.inference"); }),
               Contains("val.inference.crop"));
    // The functions validate what they are given too.
    manual_seed(1);
    ConvNet m(1, 2, 1);
    CHECK_THAT(error_of([&] { seg::infer_probabilities(m, zeros({1, 1, 4, 4}), sliding(0, 4)); }), Contains("crop"));
    CHECK_THAT(error_of([&] {
                   seg::infer_probabilities(m, zeros({1, 4, 4}), seg::InferOptions{});
               }),
               Contains("expected images (N, C, H, W)"));
}

TEST_CASE("apply_overrides: command-line flags over the card's options", "[seg][inference]") {
    using Catch::Contains;
    seg::InferOptions card = sliding(64, 64);
    card.flip = true;
    seg::InferOverrides f;
    CHECK(seg::apply_overrides(card, f) == card);
    f.no_flip = true;
    f.stride = "32x16";
    f.scales = "0.5,1,1.5";
    const seg::InferOptions o = seg::apply_overrides(card, f);
    CHECK_FALSE(o.flip);
    CHECK(o.stride_h == 32);
    CHECK(o.stride_w == 16);
    CHECK(o.scales == std::vector<double>{0.5, 1, 1.5});

    seg::InferOverrides crop_only;
    crop_only.crop = "96";  // a square crop; a crop implies sliding
    const seg::InferOptions s = seg::apply_overrides(seg::InferOptions{}, crop_only);
    CHECK(s.mode == "sliding");
    CHECK(s.crop_h == 96);
    CHECK(s.crop_w == 96);

    const auto err = [](seg::InferOverrides o) {
        return error_of([&] { seg::apply_overrides(seg::InferOptions{}, o); });
    };
    seg::InferOverrides bad;
    bad.crop = "5x";
    CHECK_THAT(err(bad), Contains("--crop") && Contains("5x"));
    bad = {};
    bad.scales = "1,,2";
    CHECK_THAT(err(bad), Contains("--scales"));
    bad = {};
    bad.mode = "sliding";
    CHECK_THAT(err(bad), Contains("crop"));
    bad = {};
    bad.mode = "tiles";
    CHECK_THAT(err(bad), Contains("--mode"));
}

// ---- model card ----

TEST_CASE("ModelCard: round trip through a model file", "[seg][inference][card]") {
    test::TempDir dir("model_card");
    // A grey model: the card's image_channels must equal the network's in_channels.
    const json spec = {{"name", "unet"}, {"num_classes", 3}, {"depth", 1}, {"base_width", 4}, {"in_channels", 1}};
    auto m = seg::build_model(spec);
    seg::ModelCard card;
    card.classes = {"sky", "road, wet", "car"};
    card.palette = {{1, 2, 3}, {40, 50, 60}, {255, 0, 128}};
    card.ignore_index = 11;
    card.image_channels = 1;
    card.preprocessing = json::array({{{"type", "normalize"}, {"mean", {0.5}}, {"std", {0.25}}}});
    card.inference = sliding(32, 48, 16, 24);
    card.inference.flip = true;
    card.dataset = "/data/camvid/dataset.json";
    card.extra = {{"metrics", R"({"miou": 0.5})"}, {"date", "2024-05-01"}};
    const std::string path = dir / "best.safetensors";
    seg::save_model_file(*m, spec, path, card.to_metadata());

    const seg::LoadedModel lm = seg::load_model_file(path);
    const seg::ModelCard back = seg::ModelCard::from_metadata(lm.metadata, path);
    CHECK(back.classes == card.classes);
    CHECK(back.palette == card.palette);
    CHECK(back.ignore_index == 11);
    CHECK(back.image_channels == 1);
    CHECK(back.preprocessing == card.preprocessing);
    CHECK(back.inference == card.inference);
    CHECK(back.dataset == card.dataset);
    CHECK(back.extra == card.extra);  // "model" and "format" are the file's own, not extra
    CHECK(lm.metadata.at("ignore_index") == "11");
    CHECK(json::parse(lm.metadata.at("classes")) == json(card.classes));
}

TEST_CASE("ModelCard: a plain model file gets defaults", "[seg][inference][card]") {
    const std::map<std::string, std::string> md = {{"model", R"({"name": "unet", "num_classes": 4})"},
                                                   {"format", "segcore-model-1"}};
    const seg::ModelCard c = seg::ModelCard::from_metadata(md, "plain.safetensors");
    CHECK(c.classes == std::vector<std::string>{"class0", "class1", "class2", "class3"});
    CHECK(c.palette == seg::default_palette(4));
    CHECK(c.ignore_index == 255);
    CHECK(c.image_channels == 3);
    CHECK(c.preprocessing == json::array());
    CHECK(c.inference == seg::InferOptions{});
    CHECK(c.dataset.empty());
    CHECK(c.extra.empty());
    // An empty palette is written as the default one, so readers always find colours.
    seg::ModelCard blank;
    blank.classes = {"a", "b"};
    CHECK(seg::ModelCard::from_metadata(blank.to_metadata(), "x").palette == seg::default_palette(2));
}

TEST_CASE("ModelCard: a malformed value is an error naming the file and the key", "[seg][inference][card]") {
    using Catch::Contains;
    const std::string model = R"({"name": "unet", "num_classes": 2})";
    const auto err = [&](const std::string& key, const std::string& value) {
        return error_of([&] { seg::ModelCard::from_metadata({{"model", model}, {key, value}}, "m.safetensors"); });
    };
    CHECK_THAT(err("classes", "[1, 2]"), Contains("m.safetensors") && Contains("\"classes\"[0]: expected a string"));
    CHECK_THAT(err("classes", "[\"a\", \"b\", \"c\"]"), Contains("\"classes\"") && Contains("model has 2 classes"));
    CHECK_THAT(err("classes", "not json"), Contains("m.safetensors") && Contains("metadata \"classes\": not valid JSON"));
    CHECK_THAT(err("palette", "[[1, 2, 3]]"), Contains("\"palette\"") && Contains("1 colours for 2 classes"));
    CHECK_THAT(err("palette", "[[1, 2, 300], [0, 0, 0]]"), Contains("\"palette\"[0]"));
    CHECK_THAT(err("ignore_index", "1"), Contains("\"ignore_index\"") && Contains("is a class index"));
    CHECK_THAT(err("ignore_index", "\"x\""), Contains("\"ignore_index\""));
    CHECK_THAT(err("image_channels", "4"), Contains("\"image_channels\": expected 1 or 3"));
    CHECK_THAT(err("preprocessing", R"([{"type": "normalise"}])"),
               Contains("m.safetensors") && Contains("\"preprocessing\"") && Contains("normalise"));
    CHECK_THAT(err("preprocessing", "{}"), Contains("\"preprocessing\": expected a JSON array"));
    CHECK_THAT(err("inference", R"({"mode": "sliding"})"), Contains("m.safetensors") && Contains("inference.crop"));
}

TEST_CASE("ModelCard::from_dataset takes classes, palette, ignore index and the spec path", "[seg][inference][card]") {
    data::SynthOptions so;
    so.classes = 5;
    data::DatasetSpec spec = data::synth_dataset_spec(so);
    spec.spec_path = "rel/dataset.json";
    const seg::ModelCard c = seg::ModelCard::from_dataset(spec);
    CHECK(c.classes == spec.classes);
    CHECK(c.palette == spec.palette);
    CHECK(c.ignore_index == spec.ignore_index);
    CHECK(std::filesystem::path(c.dataset).is_absolute());
    spec.palette.clear();
    CHECK(seg::ModelCard::from_dataset(spec).palette == seg::default_palette(5));
}

// ---- evaluation ----

TEST_CASE("evaluate_model: the same numbers as a hand-written accumulator loop", "[seg][inference][eval]") {
    test::TempDir dir("evaluate");
    data::SynthOptions so;
    so.train = 1, so.val = 5, so.height = 24, so.width = 32, so.classes = 4;
    data::write_synth_dataset(dir.path.string(), so);
    const data::DatasetSpec spec = data::load_dataset_spec(dir / "dataset.json");
    const json transforms =
        json::array({{{"type", "normalize"}, {"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}}});
    manual_seed(9);
    ConvNet m(3, 4, 3);
    m.train();  // evaluate_model switches to eval mode and back

    seg::InferOptions opt = sliding(16, 20, 8, 10);
    opt.flip = true;
    seg::EvalSettings es;
    es.batch_size = 2;
    es.num_workers = 2;
    int64_t calls = 0, last = 0;
    es.progress = [&](int64_t done, int64_t total) {
        ++calls;
        last = done;
        CHECK(total == 5);
    };
    const seg::EvalResult r = seg::evaluate_model(m, spec, "val", transforms, opt, es);
    CHECK(m.is_training());
    CHECK(r.images == 5);
    CHECK(calls == 3);
    CHECK(last == 5);

    // The reference: one sample at a time, read and transformed by hand.
    m.eval();
    const auto ds = data::open_dataset(spec, "val");
    const data::Compose pipeline = data::Compose::from_json(transforms);
    seg::MetricAccumulator acc(4, spec.ignore_index);
    seg::BoundaryF1Accumulator bf({4, spec.ignore_index, 2.0});
    for (int64_t i = 0; i < ds->size(); ++i) {
        data::Sample s = ds->get(i);
        data::SampleRng rng(0, 0, i);
        pipeline.apply(s, rng);
        Tensor x = empty({1, 3, 24, 32});
        for (int64_t p = 0; p < 24 * 32; ++p)
            for (int64_t c = 0; c < 3; ++c) x.data<float>()[c * 24 * 32 + p] = s.image.pixels[size_t(p * 3 + c)];
        std::vector<int64_t> lab(s.mask.labels.begin(), s.mask.labels.end());
        const Tensor y = from_vector(lab, {1, 24, 32});
        const Tensor pred = ops::argmax(seg::infer_probabilities(m, x, opt), 1);
        acc.update(pred, y);
        bf.update(pred, y);
    }
    const seg::SegMetrics ref = acc.compute();
    const Tensor conf = acc.confusion().contiguous();
    CHECK(r.confusion == std::vector<int64_t>(conf.data<int64_t>(), conf.data<int64_t>() + 16));
    CHECK(r.metrics.miou == ref.miou);
    CHECK(r.metrics.pixel_accuracy == ref.pixel_accuracy);
    CHECK(r.metrics.total == 5 * 24 * 32);
    CHECK(r.boundary.mean_f1 == bf.compute().mean_f1);
    CHECK(r.boundary.f1.size() == 4);

    // Reports and files carry the same numbers.
    const std::string report = seg::format_eval_report(r, spec.classes);
    CHECK_THAT(report, Catch::Contains("mIoU") && Catch::Contains("boundary F1") && Catch::Contains("FWIoU") &&
                           Catch::Contains(spec.classes[0]) && Catch::Contains("BF1"));
    seg::write_eval_outputs(r, spec.classes, dir / "out", {{"split", "val"}});
    const json mj = json::parse(std::ifstream(dir / "out/metrics.json"));
    CHECK(mj["miou"].get<double>() == r.metrics.miou);
    CHECK(mj["split"] == "val");
    CHECK(mj["confusion"][1][2].get<int64_t>() == r.confusion[1 * 4 + 2]);
    std::ifstream cf(dir / "out/confusion.csv");
    std::string header;
    std::getline(cf, header);
    CHECK(header == "ground truth \\ prediction," + spec.classes[0] + "," + spec.classes[1] + "," + spec.classes[2] +
                        "," + spec.classes[3]);
    std::ifstream pc(dir / "out/per_class.csv");
    std::string line;
    int rows = 0;
    while (std::getline(pc, line)) ++rows;
    CHECK(rows == 5);
}

TEST_CASE("evaluate_model: clear errors for a split without masks and a class-count mismatch",
          "[seg][inference][eval]") {
    test::TempDir dir("evaluate_err");
    data::SynthOptions so;
    so.train = 1, so.val = 1, so.height = 8, so.width = 8, so.classes = 3;
    data::write_synth_dataset(dir.path.string(), so);
    data::DatasetSpec spec = data::load_dataset_spec(dir / "dataset.json");
    manual_seed(1);
    ConvNet wrong(3, 5, 1);
    CHECK_THAT(error_of([&] { seg::evaluate_model(wrong, spec, "val", json::array(), {}, {}); }),
               Catch::Contains("predicts 5 classes but the dataset has 3"));
    ConvNet m(3, 3, 1);
    spec.splits["val"].masks.clear();
    CHECK_THAT(error_of([&] { seg::evaluate_model(m, spec, "val", json::array(), {}, {}); }),
               Catch::Contains("no masks"));
}
