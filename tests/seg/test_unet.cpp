// U-Net (seg/models/unet.h) and the model registry (seg/models/registry.h): odd input sizes,
// PyTorch golden parity (tests/golden/models_unet.safetensors, make_models_golden.py: a PyTorch
// twin with formula weights, eval mode), parameter counts, JSON validation, and fitting a batch.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "seg/models/registry.h"
#include "seg/models/unet.h"
#include "tests/seg/formula_weights.h"
#include "tests/seg/model_test_util.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;

TEST_CASE("U-Net: logits at the input size for odd inputs, both up-sampling modes", "[seg][models][unet]") {
    for (bool bilinear : {false, true}) {
        seg::UNetConfig c;
        c.in_channels = 1;
        c.num_classes = 3;
        c.depth = 3;
        c.base_width = 4;
        c.bilinear = bilinear;
        seg::UNet m(c);
        for (auto [h, w] : {std::pair<int64_t, int64_t>{97, 131}, {8, 8}, {15, 9}}) {
            const auto out = m.forward_seg(autograd::Variable(randn({2, 1, h, w})));
            CHECK(out.out.shape() == Shape{2, 3, h, w});
            CHECK(out.aux.empty());
        }
    }
}

TEST_CASE("U-Net golden: PyTorch twin's logits, keys, shapes and parameter counts", "[seg][models][unet][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/models_unet.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    REQUIRE(cases.size() == 2);
    for (const json& cs : cases) {
        INFO(cs["op"].get<std::string>());
        const json& p = cs["params"];
        seg::UNetConfig c;
        c.in_channels = p["in_channels"];
        c.num_classes = p["num_classes"];
        c.depth = p["depth"];
        c.base_width = p["base_width"];
        c.bilinear = p["bilinear"];
        seg::UNet m(c);
        test::require_same_keys(m, p["keys"]);
        m.load_state_dict(test::formula_state_dict(m));
        m.eval();
        const Tensor y = m.forward_seg(autograd::Variable(f.at(cs["in"]["x"].get<std::string>()))).out.data();
        const Tensor expected = f.at(cs["out"]["y"].get<std::string>());
        REQUIRE(y.shape() == expected.shape());
        CHECK(test::max_relative_error(y, expected) < 1e-5);

        seg::UNetConfig d;  // the default widths, counted by PyTorch
        d.num_classes = 21;
        d.bilinear = c.bilinear;
        CHECK(seg::UNet(d).num_parameters() == p["default_params"].get<int64_t>());
    }
}

TEST_CASE("registry: builds from JSON and rejects bad specs naming the JSON path", "[seg][models][registry]") {
    auto m = seg::build_model(json::parse(R"({"name": "unet", "num_classes": 4, "in_channels": 1, "base_width": 4,
                                              "depth": 2, "bilinear": true})"));
    CHECK(m->num_classes() == 4);
    CHECK(m->forward_seg(autograd::Variable(randn({1, 1, 17, 19}))).out.shape() == Shape{1, 4, 17, 19});

    const auto error_of = [](const char* text) {
        try {
            seg::build_model(json::parse(text));
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    using Catch::Contains;
    CHECK_THAT(error_of(R"({"name": "unet", "num_classes": 4, "base_widht": 8})"),
               Contains("model.base_widht: unknown key") && Contains("base_width"));
    CHECK_THAT(error_of(R"({"name": "unte", "num_classes": 4})"),
               Contains("model.name: unknown value \"unte\"") && Contains("unet"));
    CHECK_THAT(error_of(R"({"name": "unet"})"), Contains("model.num_classes: missing"));
    CHECK_THAT(error_of(R"({"name": "unet", "num_classes": 4, "depth": "4"})"),
               Contains("model.depth: expected an integer"));
    CHECK_THAT(error_of(R"({"name": "unet", "num_classes": 0})"), Contains("model.num_classes: expected an integer in [1"));
    CHECK_THAT(error_of(R"([1, 2])"), Contains("model: expected a JSON object"));
}

TEST_CASE("U-Net (tiny widths) fits one small batch", "[seg][models][unet][train]") {
    manual_seed(0);  // a seeded init: the result must not depend on which tests ran before
    seg::UNetConfig c;
    c.in_channels = 2;
    c.num_classes = 3;
    c.depth = 2;
    c.base_width = 8;
    seg::UNet m(c);
    const test::TinyBatch b = test::tiny_batch(2, 3, 24, 20);
    CHECK(test::overfit_pixel_accuracy(m, b, 60) > 0.95);
}
