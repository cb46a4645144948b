// ENet (seg/models/enet.h): odd input sizes, davidtvs/PyTorch-ENet parity (tests/golden/
// models_realtime.safetensors from make_realtime_golden.py: its code as the twin, formula weights,
// eval mode), the shared PReLU per bottleneck, parameter counts, the JSON builder, fitting a batch.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/json_reader.h"
#include "core/safetensors.h"
#include "seg/models/enet.h"
#include "tests/seg/formula_weights.h"
#include "tests/seg/model_test_util.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;

namespace {

// What the registry does before handing the reader to a model's builder.
// Through the registry, as a config would build it.
std::shared_ptr<seg::SegModel> build(const std::string& text) { return test::build_registered("enet", text); }
std::string error_of(const std::string& text) { return test::build_error("enet", text); }

}  // namespace

TEST_CASE("ENet: logits at the input size for odd and small inputs, no aux heads", "[seg][models][enet]") {
    seg::ENetConfig c;
    c.in_channels = 3;
    c.num_classes = 5;
    seg::ENet m(c);
    for (bool train : {true, false}) {
        m.train(train);
        for (auto [h, w] : {std::pair<int64_t, int64_t>{97, 131}, {8, 8}, {15, 9}, {7, 12}}) {
            INFO(h << "x" << w << (train ? " train" : " eval"));
            const auto out = m.forward_seg(autograd::Variable(randn({2, 3, h, w})));
            CHECK(out.out.shape() == Shape{2, 5, h, w});
            CHECK(out.aux.empty());
        }
    }
    CHECK_THROWS_WITH(m.forward_seg(autograd::Variable(randn({1, 3, 6, 20}))), Catch::Contains("at least 7 x 7"));
}

TEST_CASE("ENet golden: davidtvs's ENet logits, keys and parameter counts", "[seg][models][enet][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/models_realtime.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    int seen = 0;
    for (const json& cs : cases) {
        const std::string op = cs["op"];
        if (op.rfind("enet.", 0) != 0) continue;
        ++seen;
        INFO(op);
        const json& p = cs["params"];
        seg::ENetConfig c;
        c.in_channels = p["in_channels"];
        c.num_classes = p["num_classes"];
        c.encoder_relu = p["encoder_relu"];
        c.decoder_relu = p["decoder_relu"];
        seg::ENet m(c);
        test::require_same_keys(m, p["keys"]);
        CHECK(m.num_parameters() == p["params"].get<int64_t>());
        m.load_state_dict(test::formula_state_dict(m));
        m.eval();
        const Tensor y = m.forward_seg(autograd::Variable(f.at(cs["in"]["x"].get<std::string>()))).out.data();
        const Tensor expected = f.at(cs["out"]["y"].get<std::string>());
        REQUIRE(y.shape() == expected.shape());
        CHECK(test::max_relative_error(y, expected) < 1e-4);

        // davidtvs's default ENet for CamVid's 12 classes, counted by PyTorch (shared PReLUs once).
        CHECK(seg::ENet(seg::ENetConfig{}).num_parameters() == p["default_params"].get<int64_t>());
        CHECK(p["default_params"].get<int64_t>() == 350582);
    }
    CHECK(seen == 2);
}

TEST_CASE("ENet: one PReLU weight per bottleneck, used at every position and trained", "[seg][models][enet]") {
    seg::ENetConfig c;
    c.encoder_relu = c.decoder_relu = false;
    seg::ENet m(c);
    int prelu_weights = 0;
    for (const auto& [name, v] : m.named_parameters())
        if (v.numel() == 1) {
            ++prelu_weights;
            CHECK((test::ends_with(name, "ext_conv1.2.weight") || name == "initial_block.out_prelu.weight"));
        }
    CHECK(prelu_weights == 1 + 2 + 4 + 16 + 2 + 2 + 1);  // initial, 2 down, stage 1, stages 2-3, 2 up, 3 regular
    // A block's alias sees the owner's value: changing the one weight changes the output of
    // positions that do not own it (out_prelu of a regular block).
    m.eval();
    const autograd::Variable x(randn({1, 3, 16, 16}));
    const Tensor before = m.forward_seg(x).out.data().clone();
    for (auto& [name, v] : m.named_parameters())
        if (name == "regular5_1.ext_conv1.2.weight") {
            Tensor t = v.data();  // shares the storage
            t.fill_(0.9);
        }
    CHECK(test::max_relative_error(m.forward_seg(x).out.data(), before) > 1e-3);
    // and its gradient collects every position's contribution
    m.train();
    autograd::sum(m.forward_seg(x).out).backward();
    for (auto& [name, v] : m.named_parameters())
        if (name == "regular5_1.ext_conv1.2.weight") CHECK(v.grad().defined());
}

TEST_CASE("ENet builder: JSON keys, defaults and errors naming the path", "[seg][models][enet]") {
    auto m = build(R"({"num_classes": 4, "in_channels": 1, "encoder_relu": true})");
    CHECK(m->num_classes() == 4);
    CHECK(m->forward_seg(autograd::Variable(randn({1, 1, 17, 19}))).out.shape() == Shape{1, 4, 17, 19});
    CHECK(std::dynamic_pointer_cast<seg::ENet>(m)->cfg.encoder_relu);
    CHECK(std::dynamic_pointer_cast<seg::ENet>(m)->cfg.decoder_relu);
    using Catch::Contains;
    CHECK_THAT(error_of(R"({"num_classes": 4, "encoder_rel": true})"),
               Contains("model.encoder_rel: unknown key") && Contains("encoder_relu") && Contains("decoder_relu"));
    CHECK_THAT(error_of(R"({"num_classes": 4, "decoder_relu": 1})"),
               Contains("model.decoder_relu: expected true or false"));
    CHECK_THAT(error_of(R"({"num_classes": 4, "in_channels": 16})"),
               Contains("model.in_channels: ENet takes at most 15"));
}

TEST_CASE("ENet fits one small batch", "[seg][models][enet][train]") {
    manual_seed(0);  // a seeded init: the result must not depend on which tests ran before
    seg::ENetConfig c;
    c.in_channels = 2;
    c.num_classes = 3;
    seg::ENet m(c);
    const test::TinyBatch b = test::tiny_batch(2, 3, 24, 20);
    CHECK(test::overfit_pixel_accuracy(m, b, 40, 1e-2) > 0.9);
}
