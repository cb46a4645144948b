// FastSegNet (seg/models/fastsegnet.h): odd input sizes, aux heads in training only, the < 5 M
// parameter budget, PyTorch parity (tests/golden/models_realtime.safetensors from
// make_realtime_golden.py, eval mode, formula weights), the JSON builder, fitting a batch.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/json_reader.h"
#include "core/safetensors.h"
#include "seg/models/fastsegnet.h"
#include "tests/seg/formula_weights.h"
#include "tests/seg/model_test_util.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;

namespace {

seg::FastSegNetConfig tiny(int64_t in_channels, int64_t classes) {
    seg::FastSegNetConfig c;
    c.in_channels = in_channels;
    c.num_classes = classes;
    c.width_mult = 0.25;
    c.context_channels = 16;
    c.head_channels = 8;
    return c;
}

// Through the registry, as a config would build it.
std::shared_ptr<seg::SegModel> build(const std::string& text) { return test::build_registered("fastsegnet", text); }
std::string error_of(const std::string& text) { return test::build_error("fastsegnet", text); }

// tiny_batch with every pixel repeated 2 x 2: 8 x 8 class blocks. The logits come from stride 8
// (fastsegnet.h), so 4-pixel blocks would be below the model's resolution.
test::TinyBatch tiny_batch_8px(int64_t in_channels, int64_t classes, int64_t h, int64_t w) {
    const test::TinyBatch b = test::tiny_batch(in_channels, classes, h, w);
    test::TinyBatch out{empty({2, in_channels, 2 * h, 2 * w}), empty({2, 2 * h, 2 * w}, DType::I64)};
    for (int64_t n = 0; n < 2; ++n)
        for (int64_t i = 0; i < 2 * h; ++i)
            for (int64_t j = 0; j < 2 * w; ++j) {
                out.labels.data<int64_t>()[(n * 2 * h + i) * 2 * w + j] =
                    b.labels.data<int64_t>()[(n * h + i / 2) * w + j / 2];
                for (int64_t c = 0; c < in_channels; ++c)
                    out.images.data<float>()[((n * in_channels + c) * 2 * h + i) * 2 * w + j] =
                        b.images.data<float>()[((n * in_channels + c) * h + i / 2) * w + j / 2];
            }
    return out;
}

}  // namespace

TEST_CASE("FastSegNet: logits at the input size for odd inputs; aux heads in training only",
          "[seg][models][fastsegnet]") {
    seg::FastSegNet m(tiny(3, 4));
    for (auto [h, w] : {std::pair<int64_t, int64_t>{97, 131}, {8, 8}, {15, 9}, {33, 1}}) {
        INFO(h << "x" << w);
        m.train();
        const auto tr = m.forward_seg(autograd::Variable(randn({2, 3, h, w})));
        CHECK(tr.out.shape() == Shape{2, 4, h, w});
        REQUIRE(tr.aux.size() == 2);
        CHECK(tr.aux[0].first == "aux16");
        CHECK(tr.aux[1].first == "aux32");
        for (const auto& [name, a] : tr.aux) CHECK(a.shape() == Shape{2, 4, h, w});
        m.eval();
        const auto ev = m.forward_seg(autograd::Variable(randn({2, 3, h, w})));
        CHECK(ev.out.shape() == Shape{2, 4, h, w});
        CHECK(ev.aux.empty());
    }
}

TEST_CASE("FastSegNet: under 5 M parameters at width 1, fewer at smaller widths", "[seg][models][fastsegnet]") {
    seg::FastSegNetConfig c;
    c.num_classes = 19;
    const int64_t full = seg::FastSegNet(c).num_parameters();
    CHECK(full < 5'000'000);
    CHECK(full == 2463865);  // the PyTorch twin's count (golden test below)
    c.width_mult = 0.5;
    CHECK(seg::FastSegNet(c).num_parameters() < full);
    c.width_mult = 1.4;
    CHECK(seg::FastSegNet(c).num_parameters() < 5'000'000);
}

TEST_CASE("FastSegNet golden: PyTorch twin's logits, keys and parameter counts", "[seg][models][fastsegnet][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/models_realtime.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    const json* found = nullptr;
    for (const json& cs : cases)
        if (cs["op"] == "fastsegnet") found = &cs;
    REQUIRE(found);
    const json& cs = *found;
    const json& p = cs["params"];
    seg::FastSegNetConfig c;
    c.in_channels = p["in_channels"];
    c.num_classes = p["num_classes"];
    c.width_mult = p["width_mult"];
    c.context_channels = p["context_channels"];
    c.head_channels = p["head_channels"];
    seg::FastSegNet m(c);
    test::require_same_keys(m, p["keys"]);
    CHECK(m.num_parameters() == p["params"].get<int64_t>());
    m.load_state_dict(test::formula_state_dict(m));
    m.eval();
    const Tensor y = m.forward_seg(autograd::Variable(f.at(cs["in"]["x"].get<std::string>()))).out.data();
    const Tensor expected = f.at(cs["out"]["y"].get<std::string>());
    REQUIRE(y.shape() == expected.shape());
    CHECK(test::max_relative_error(y, expected) < 1e-4);

    seg::FastSegNetConfig d;
    d.num_classes = 19;
    CHECK(seg::FastSegNet(d).num_parameters() == p["default_params"].get<int64_t>());
}

TEST_CASE("FastSegNet builder: JSON keys, defaults and errors naming the path", "[seg][models][fastsegnet]") {
    auto m = build(R"({"num_classes": 4, "in_channels": 1, "width_mult": 0.25, "context_channels": 16,
                       "head_channels": 8})");
    CHECK(m->num_classes() == 4);
    m->eval();
    CHECK(m->forward_seg(autograd::Variable(randn({1, 1, 17, 19}))).out.shape() == Shape{1, 4, 17, 19});
    const auto& cfg = std::dynamic_pointer_cast<seg::FastSegNet>(build(R"({"num_classes": 4})"))->cfg;
    CHECK(cfg.width_mult == 1.0);
    CHECK(cfg.context_channels == 128);
    using Catch::Contains;
    CHECK_THAT(error_of(R"({"num_classes": 4, "width": 0.5})"),
               Contains("model.width: unknown key") && Contains("width_mult"));
    CHECK_THAT(error_of(R"({"num_classes": 4, "width_mult": 0})"), Contains("model.width_mult: expected a number in"));
    CHECK_THAT(error_of(R"({"num_classes": 4, "context_channels": "64"})"),
               Contains("model.context_channels: expected an integer"));
}

TEST_CASE("FastSegNet (tiny widths) fits one small batch", "[seg][models][fastsegnet][train]") {
    for (uint64_t seed : {0, 1, 2}) {  // the init is seeded: the result must not depend on test order
        manual_seed(seed);
        seg::FastSegNet m(tiny(2, 3));
        const test::TinyBatch b = tiny_batch_8px(2, 3, 24, 20);
        const double acc = test::overfit_pixel_accuracy(m, b, 100, 1e-2);
        INFO("seed " << seed << " accuracy " << acc);
        CHECK(acc > 0.9);
    }
}
