// Siamese U-Net (seg/models/siamese_unet.h): one set of weights for both branches (U-Net's own
// state dict), gradients of both branches accumulating into it, the feature-consistency term
// (0 for identical views, f64 gradcheck, PyTorch values), odd sizes, golden parity
// (tests/golden/models_realtime.safetensors), the JSON builder, fitting a batch.
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/json_reader.h"
#include "core/safetensors.h"
#include "seg/models/siamese_unet.h"
#include "tests/seg/formula_weights.h"
#include "tests/seg/model_test_util.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;
namespace F = segcore::autograd;

namespace {

seg::SiameseUNetConfig small() {
    seg::SiameseUNetConfig c;
    c.in_channels = 3;
    c.num_classes = 3;
    c.depth = 2;
    c.base_width = 4;
    return c;
}

// Through the registry, as a config would build it.
std::shared_ptr<seg::SegModel> build(const std::string& text) { return test::build_registered("siamese_unet", text); }
std::string error_of(const std::string& text) { return test::build_error("siamese_unet", text); }

}  // namespace

TEST_CASE("Siamese U-Net: logits and bottleneck features at odd sizes, both up-sampling modes",
          "[seg][models][siamese]") {
    for (bool bilinear : {false, true}) {
        seg::SiameseUNetConfig c = small();
        c.depth = 3;
        c.bilinear = bilinear;
        seg::SiameseUNet m(c);
        for (auto [h, w] : {std::pair<int64_t, int64_t>{97, 131}, {8, 8}, {15, 9}}) {
            INFO(h << "x" << w << (bilinear ? " bilinear" : " transpose"));
            const auto [a, b] =
                m.forward_pair(autograd::Variable(randn({2, 3, h, w})), autograd::Variable(randn({2, 3, h, w})));
            for (const seg::SegOutput* o : {&a, &b}) {
                CHECK(o->out.shape() == Shape{2, 3, h, w});
                CHECK(o->aux.empty());
                REQUIRE(o->features.size() == 1);
                CHECK(o->features[0].shape() == Shape{2, 32, h / 8, w / 8});
            }
        }
    }
}

TEST_CASE("Siamese U-Net: one set of weights, U-Net's state dict", "[seg][models][siamese]") {
    seg::SiameseUNetConfig c;
    c.num_classes = 21;
    seg::UNetConfig u;
    u.num_classes = 21;
    seg::SiameseUNet s(c);
    seg::UNet unet(u);
    CHECK(s.num_parameters() == unet.num_parameters());  // a single branch's count
    const nn::NamedTensors a = s.state_dict(), b = unet.state_dict();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].first == b[i].first);

    // U-Net weights load and give U-Net's logits.
    seg::UNetConfig uc;
    uc.num_classes = 3;
    uc.depth = 2;
    uc.base_width = 4;
    seg::UNet small_unet(uc);
    seg::SiameseUNet m(small());
    m.load_state_dict(small_unet.state_dict());
    m.eval();
    small_unet.eval();
    const autograd::Variable x(randn({1, 3, 13, 11}));
    CHECK(test::max_relative_error(m.forward_seg(x).out.data(), small_unet.forward_seg(x).out.data()) == 0.0);
}

TEST_CASE("Siamese U-Net: both branches' gradients accumulate into the shared weights", "[seg][models][siamese]") {
    seg::SiameseUNet m(small());
    const autograd::Variable xa(randn({2, 3, 12, 10})), xb(randn({2, 3, 12, 10}));
    const auto loss_of = [&](const seg::SegOutput& o) { return F::mean(F::square(o.out)); };
    const auto grads = [&] {
        std::vector<Tensor> g;
        for (const auto& v : m.parameters()) g.push_back(v.grad().clone());
        return g;
    };
    m.zero_grad();
    loss_of(m.forward_seg(xa)).backward();
    const std::vector<Tensor> ga = grads();
    m.zero_grad();
    loss_of(m.forward_seg(xb)).backward();
    const std::vector<Tensor> gb = grads();
    m.zero_grad();
    const auto [a, b] = m.forward_pair(xa, xb);
    F::add(loss_of(a), loss_of(b)).backward();
    const std::vector<Tensor> gab = grads();
    REQUIRE(gab.size() == ga.size());
    for (size_t i = 0; i < gab.size(); ++i) {
        const Tensor sum = ops::add(ga[i], gb[i]);
        INFO("parameter " << m.named_parameters()[i].first);
        CHECK(test::max_relative_error(gab[i], sum) < 1e-5);
    }
    // The consistency term reaches the encoder through both branches, and never the decoder.
    m.zero_grad();
    const auto [c, d] = m.forward_pair(xa, xb);
    m.consistency(c, d).backward();
    for (const auto& [name, v] : m.named_parameters()) {
        INFO(name);
        const bool encoder = name.rfind("inc.", 0) == 0 || name.rfind("down", 0) == 0;
        CHECK(v.grad().defined() == encoder);
    }
}

TEST_CASE("feature consistency: 0 for identical views, PyTorch's values, f64 gradcheck", "[seg][models][siamese]") {
    seg::SiameseUNet m(small());
    m.eval();
    const autograd::Variable x(randn({2, 3, 21, 27}));
    const auto [a, b] = m.forward_pair(x, x);
    for (auto t : {seg::ConsistencyType::Mse, seg::ConsistencyType::Cosine}) {
        INFO(seg::to_string(t));
        CHECK(seg::feature_consistency(a, b, t).data().item<float>() == 0.0f);
    }
    // Features with all-zero pixel vectors (what a ReLU leaves): still 0, and a finite gradient.
    const Tensor zero = zeros({1, 4, 2, 2});
    seg::SegOutput za{{}, {}, {autograd::Variable(zero, true)}}, zb{{}, {}, {autograd::Variable(zero.clone(), true)}};
    const autograd::Variable cz = seg::feature_consistency(za, zb, seg::ConsistencyType::Cosine);
    CHECK(cz.data().item<float>() == 0.0f);
    cz.backward();
    CHECK(std::isfinite(ops::sum(za.features[0].grad()).item_double()));

    for (auto t : {seg::ConsistencyType::Mse, seg::ConsistencyType::Cosine}) {
        INFO(seg::to_string(t));
        const auto r = autograd::gradcheck(
            [t](const std::vector<autograd::Variable>& v) {
                return seg::feature_consistency(seg::SegOutput{{}, {}, {v[0], v[1]}},
                                                seg::SegOutput{{}, {}, {v[2], v[3]}}, t);
            },
            {test::random_tensor({2, 5, 3, 4}, DType::F64, -1, 1, 1),
             test::random_tensor({1, 3, 2, 2}, DType::F64, -1, 1, 2),
             test::random_tensor({2, 5, 3, 4}, DType::F64, -1, 1, 3),
             test::random_tensor({1, 3, 2, 2}, DType::F64, -1, 1, 4)});
        INFO(r.message);
        CHECK(r.ok);
    }
    CHECK(seg::consistency_type_from_string("mse") == seg::ConsistencyType::Mse);
    CHECK_THROWS_WITH(seg::consistency_type_from_string("l1"), Catch::Contains("allowed: mse, cosine"));
    const seg::SegOutput one{{}, {}, {autograd::Variable(zeros({1, 4, 2, 2}))}},
        other{{}, {}, {autograd::Variable(zeros({1, 4, 3, 2}))}};
    CHECK_THROWS_WITH(seg::feature_consistency(one, other), Catch::Contains("same size"));
}

TEST_CASE("Siamese U-Net golden: PyTorch twin's logits, features and consistency", "[seg][models][siamese][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/models_realtime.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    const json* found = nullptr;
    for (const json& cs : cases)
        if (cs["op"] == "siamese_unet") found = &cs;
    REQUIRE(found);
    const json& cs = *found;
    const json& p = cs["params"];
    seg::SiameseUNetConfig c;
    c.in_channels = p["in_channels"];
    c.num_classes = p["num_classes"];
    c.depth = p["depth"];
    c.base_width = p["base_width"];
    c.bilinear = p["bilinear"];
    seg::SiameseUNet m(c);
    test::require_same_keys(m, p["keys"]);
    m.load_state_dict(test::formula_state_dict(m));
    m.eval();
    const auto out = [&](const char* k) { return f.at(cs["out"][k].get<std::string>()); };
    const auto [a, b] = m.forward_pair(autograd::Variable(f.at(cs["in"]["a"].get<std::string>())),
                                       autograd::Variable(f.at(cs["in"]["b"].get<std::string>())));
    CHECK(test::max_relative_error(a.out.data(), out("ya")) < 1e-4);
    CHECK(test::max_relative_error(b.out.data(), out("yb")) < 1e-4);
    CHECK(test::max_relative_error(a.features[0].data(), out("fa")) < 1e-4);
    CHECK(test::max_relative_error(b.features[0].data(), out("fb")) < 1e-4);
    const Tensor mse = seg::feature_consistency(a, b, seg::ConsistencyType::Mse).data().reshape({1});
    const Tensor cosine = seg::feature_consistency(a, b, seg::ConsistencyType::Cosine).data().reshape({1});
    CHECK(test::max_relative_error(mse, out("mse")) < 1e-4);
    CHECK(test::max_relative_error(cosine, out("cosine")) < 1e-4);

    seg::SiameseUNetConfig d;
    d.num_classes = 21;
    CHECK(seg::SiameseUNet(d).num_parameters() == p["default_params"].get<int64_t>());
}

TEST_CASE("Siamese U-Net builder: JSON keys, defaults and errors naming the path", "[seg][models][siamese]") {
    auto m = build(R"({"num_classes": 4, "in_channels": 1, "base_width": 4, "depth": 2, "consistency": "mse"})");
    CHECK(m->num_classes() == 4);
    CHECK(m->forward_seg(autograd::Variable(randn({1, 1, 17, 19}))).out.shape() == Shape{1, 4, 17, 19});
    CHECK(std::dynamic_pointer_cast<seg::SiameseUNet>(m)->cfg.consistency == seg::ConsistencyType::Mse);
    CHECK(
        std::dynamic_pointer_cast<seg::SiameseUNet>(build(R"({"num_classes": 4, "base_width": 2})"))->cfg.consistency ==
        seg::ConsistencyType::Cosine);
    using Catch::Contains;
    CHECK_THAT(error_of(R"({"num_classes": 4, "consistency": "l2"})"),
               Contains("model.consistency: unknown value \"l2\"") && Contains("mse, cosine"));
    CHECK_THAT(error_of(R"({"num_classes": 4, "depht": 3})"),
               Contains("model.depht: unknown key") && Contains("depth"));
    CHECK_THAT(error_of(R"({"num_classes": 4, "depth": 9})"), Contains("model.depth: expected an integer in [1, 8]"));
}

TEST_CASE("Siamese U-Net (tiny widths) fits one small batch through both branches", "[seg][models][siamese][train]") {
    manual_seed(0);  // a seeded init: the result must not depend on which tests ran before
    seg::SiameseUNetConfig c = small();
    c.in_channels = 2;
    c.base_width = 8;
    seg::SiameseUNet m(c);
    const test::TinyBatch b = test::tiny_batch(2, 3, 24, 20);
    CHECK(test::overfit_pixel_accuracy(m, b, 60) > 0.9);
}
