// FCN, DeepLabv3 and DeepLabv3+ (seg/models/fcn.h, deeplab.h): torchvision parity
// (tests/golden/models_torchvision.safetensors, make_torchvision_seg_golden.py: torchvision's
// fcn_resnet50 / deeplabv3_resnet50 and a PyTorch twin of our DeepLabv3+, formula weights, eval
// mode), parameter counts, logits at odd sizes for every backbone and output stride, aux heads
// in training mode only, torchvision ImageNet weights into the backbone, JSON validation, and
// fitting one small batch.
#include <catch2/catch.hpp>

#include <functional>

#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "core/safetensors.h"
#include "seg/models/backbones/resnet.h"
#include "seg/models/deeplab.h"
#include "seg/models/fcn.h"
#include "tests/seg/formula_weights.h"
#include "tests/seg/model_test_util.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::seg;
using json = nlohmann::json;

namespace {

struct Golden {
    SafetensorsFile file;
    json cases;
};

const Golden& golden() {
    static const Golden g = [] {
        Golden out;
        out.file = load_safetensors(test::golden_dir() + "/models_torchvision.safetensors");
        out.cases = json::parse(out.file.metadata.at("cases"));
        return out;
    }();
    return g;
}

// Configs field by field: GCC warns about class-type members left out of designated initializers.
FCNConfig fcn_config(const SegBackboneConfig& b, int64_t num_classes, bool aux_loss = false) {
    FCNConfig c;
    c.backbone = b;
    c.num_classes = num_classes;
    c.aux_loss = aux_loss;
    return c;
}

DeepLabV3Config deeplabv3_config(const SegBackboneConfig& b, int64_t num_classes, bool aux_loss = false) {
    DeepLabV3Config c;
    c.backbone = b;
    c.num_classes = num_classes;
    c.aux_loss = aux_loss;
    return c;
}

DeepLabV3PlusConfig deeplabv3plus_config(const SegBackboneConfig& b, int64_t num_classes, int64_t channels = 256,
                                         int64_t low_level_channels = 48, bool aux_loss = false) {
    DeepLabV3PlusConfig c;
    c.backbone = b;
    c.num_classes = num_classes;
    c.channels = channels;
    c.low_level_channels = low_level_channels;
    c.aux_loss = aux_loss;
    return c;
}

// Formula weights loaded strictly, eval mode, both heads; compared with the reference's logits.
void check_logits(SimpleSegmentationModel& m, const json& cs) {
    m.load_state_dict(test::formula_state_dict(m), /*strict=*/true);
    m.eval();
    autograd::NoGradGuard no_grad;
    const Tensor x = golden().file.at(cs["in"]["x"].get<std::string>());
    const bool with_aux = cs["out"].contains("aux");
    const SegOutput o = m.forward_heads(autograd::Variable(x), with_aux);
    const Tensor out = golden().file.at(cs["out"]["out"].get<std::string>());
    REQUIRE(o.out.shape() == out.shape());
    CHECK(test::max_relative_error(o.out.data(), out) < 1e-4);
    if (with_aux) {
        const Tensor aux = golden().file.at(cs["out"]["aux"].get<std::string>());
        REQUIRE(o.aux.size() == 1);
        REQUIRE(o.aux[0].second.shape() == aux.shape());
        CHECK(test::max_relative_error(o.aux[0].second.data(), aux) < 1e-4);
    }
}

// Through the registry, as a config would build it.
std::shared_ptr<SegModel> build(const std::string& name, json spec, int64_t num_classes = 21, int64_t in_channels = 3) {
    spec["num_classes"] = num_classes;
    spec["in_channels"] = in_channels;
    return test::build_registered(name, spec.dump());
}
std::string error_of(const std::string& name, const char* text) { return test::build_error(name, text); }

// test::tiny_batch with square blocks of `block` pixels: a model whose logits come at stride 8
// (FCN, DeepLabv3) can only draw class boundaries on its own 8-pixel grid, not tiny_batch's 4.
test::TinyBatch block_batch(int64_t classes, int64_t h, int64_t w, int64_t block) {
    Generator gen(3);
    Tensor x = randn({2, 3, h, w}, {}, &gen);
    Tensor y = empty({2, h, w}, DType::I64);
    float* xs = x.data<float>();
    int64_t* ys = y.data<int64_t>();
    for (int64_t n = 0; n < 2; ++n)
        for (int64_t i = 0; i < h; ++i)
            for (int64_t j = 0; j < w; ++j) {
                const int64_t cls = ((i / block) * 7 + (j / block) * 3 + n) % classes;
                ys[(n * h + i) * w + j] = cls;
                for (int64_t c = 0; c < 3; ++c) {
                    float& v = xs[((n * 3 + c) * h + i) * w + j];
                    v = 0.3f * v + 2.0f * float(cls) / float(classes) - 1.0f + ((cls + c) % 2 ? 0.5f : -0.5f);
                }
            }
    return {x, y};
}

// Eval-mode logits of N = 2 odd-sized images (97 x 131: every stage rounds up) for each backbone
// and output stride; no aux output in eval mode.
void check_shapes(const std::function<std::shared_ptr<SegModel>(const SegBackboneConfig&)>& make) {
    autograd::NoGradGuard no_grad;
    const Tensor x = test::random_tensor({2, 3, 97, 131}, DType::F32, -1, 1, 5);
    for (const std::string backbone : {"resnet18", "resnet34", "resnet50", "mobilenetv2"}) {
        for (const int64_t os : {8, 16}) {
            INFO(backbone << " output_stride " << os);
            std::shared_ptr<SegModel> m = make({.name = backbone, .output_stride = os});
            m->eval();
            const SegOutput o = m->forward_seg(autograd::Variable(x));
            CHECK(o.out.shape() == Shape{2, 5, 97, 131});
            CHECK(o.aux.empty());
        }
    }
}

}  // namespace

TEST_CASE("FCN / DeepLabv3 golden: torchvision's keys, shapes, parameter counts and logits",
          "[seg][models][fcn][deeplab][golden]") {
    int checked = 0;
    for (const json& cs : golden().cases) {
        if (cs["op"] != "torchvision") continue;
        const std::string model = cs["params"]["model"];
        INFO(model);
        std::shared_ptr<SimpleSegmentationModel> m;
        if (model == "fcn_resnet50")
            m = std::make_shared<FCN>(fcn_config({}, 21, true));
        else
            m = std::make_shared<DeepLabV3>(deeplabv3_config({}, 21, true));
        test::require_same_keys(*m, cs["params"]["keys"]);
        CHECK(m->num_parameters() == cs["params"]["num_parameters"].get<int64_t>());
        // Pinned as well, so a regenerated fixture cannot move them: torchvision 0.14,
        // sum(p.numel() for p in fcn_resnet50(weights=None, weights_backbone=None, aux_loss=True,
        // num_classes=21).parameters()), likewise deeplabv3_resnet50.
        CHECK(m->num_parameters() == (model == "fcn_resnet50" ? 35322218 : 42004074));
        check_logits(*m, cs);
        ++checked;
    }
    CHECK(checked == 2);
}

TEST_CASE("DeepLabv3+ golden: the PyTorch twin's keys, shapes, parameter counts and logits",
          "[seg][models][deeplab][golden]") {
    int checked = 0;
    for (const json& cs : golden().cases) {
        if (cs["op"] != "deeplabv3plus") continue;
        const json& p = cs["params"];
        INFO(p["backbone"].get<std::string>());
        DeepLabV3PlusConfig c;
        c.num_classes = p["num_classes"];
        c.backbone = {.name = p["backbone"], .output_stride = p["output_stride"], .width_mult = p["width_mult"]};
        c.aspp_rates = p["aspp_rates"].get<std::vector<int64_t>>();
        c.channels = p["channels"];
        c.low_level_channels = p["low_level_channels"];
        c.aux_loss = p["aux_loss"];
        DeepLabV3Plus m(c);
        test::require_same_keys(m, p["keys"]);
        CHECK(m.num_parameters() == p["num_parameters"].get<int64_t>());
        check_logits(m, cs);
        ++checked;
    }
    CHECK(checked == 2);
}

TEST_CASE("FCN / DeepLabv3: parameter counts equal torchvision's", "[seg][models][fcn][deeplab][params]") {
    // /usr/bin/python3 -c "from torchvision.models.segmentation import *; n = lambda m: sum(p.numel() for p in
    //   m.parameters()); print(n(fcn_resnet101(weights=None, weights_backbone=None, aux_loss=True, num_classes=21)))"
    // (torchvision 0.14; likewise deeplabv3_resnet101, and aux_loss=False).
    CHECK(FCN(fcn_config({.name = "resnet101"}, 21, true)).num_parameters() == 54314346);
    CHECK(FCN(fcn_config({.name = "resnet101"}, 21)).num_parameters() == 51949141);
    CHECK(DeepLabV3(deeplabv3_config({.name = "resnet101"}, 21, true)).num_parameters() == 60996202);
    CHECK(DeepLabV3(deeplabv3_config({.name = "resnet101"}, 21)).num_parameters() == 58630997);
    // The resnet50 models (35322218 / 42004074 with aux) are checked against the fixture; without aux:
    CHECK(FCN(FCNConfig{}).num_parameters() == 32957013);
    CHECK(DeepLabV3(DeepLabV3Config{}).num_parameters() == 39638869);
    // Output stride changes no parameter.
    CHECK(DeepLabV3(deeplabv3_config({.output_stride = 16}, 21)).num_parameters() == 39638869);
}

TEST_CASE("FCN: logits at 97x131 for every backbone at output strides 8 and 16", "[seg][models][fcn][shapes]") {
    check_shapes([](const SegBackboneConfig& b) { return std::make_shared<FCN>(fcn_config(b, 5)); });
}

TEST_CASE("DeepLabv3: logits at 97x131 for every backbone at output strides 8 and 16",
          "[seg][models][deeplab][shapes]") {
    check_shapes([](const SegBackboneConfig& b) { return std::make_shared<DeepLabV3>(deeplabv3_config(b, 5)); });
}

TEST_CASE("DeepLabv3+: logits at 97x131 for every backbone at output strides 8 and 16",
          "[seg][models][deeplab][shapes]") {
    check_shapes(
        [](const SegBackboneConfig& b) { return std::make_shared<DeepLabV3Plus>(deeplabv3plus_config(b, 5)); });
}

TEST_CASE("FCN / DeepLabv3: resnet101 and output stride 32 at 97x131", "[seg][models][fcn][deeplab][shapes]") {
    autograd::NoGradGuard no_grad;
    const Tensor x = test::random_tensor({2, 3, 97, 131}, DType::F32, -1, 1, 6);
    DeepLabV3 d(deeplabv3_config({.name = "resnet101", .output_stride = 16}, 4, true));
    d.eval();
    const SegOutput o = d.forward_heads(autograd::Variable(x), true);
    CHECK(o.out.shape() == Shape{2, 4, 97, 131});
    CHECK(o.aux.at(0).second.shape() == Shape{2, 4, 97, 131});
    FCN f(fcn_config({.name = "resnet18", .output_stride = 32}, 4));
    f.eval();
    CHECK(f(autograd::Variable(x)).shape() == Shape{2, 4, 97, 131});
}

TEST_CASE("aux heads: in training mode only, on the stage before the last", "[seg][models][fcn][deeplab][aux]") {
    const autograd::Variable x(test::random_tensor({2, 3, 33, 29}, DType::F32, -1, 1, 7));
    const SegBackboneConfig r18{.name = "resnet18", .output_stride = 16};
    std::vector<std::shared_ptr<SimpleSegmentationModel>> models = {
        std::make_shared<FCN>(fcn_config(r18, 3, true)), std::make_shared<DeepLabV3>(deeplabv3_config(r18, 3, true)),
        std::make_shared<DeepLabV3Plus>(
            deeplabv3plus_config({.name = "mobilenetv2", .width_mult = 0.5}, 3, 16, 48, true))};
    for (auto& m : models) {
        INFO(m->type_name());
        REQUIRE(m->aux_classifier != nullptr);
        m->train();
        SegOutput o = m->forward_seg(x);
        REQUIRE(o.aux.size() == 1);
        CHECK(o.aux[0].first == "aux");
        CHECK(o.aux[0].second.shape() == Shape{2, 3, 33, 29});
        // Gradients reach the aux head through the aux logits only.
        autograd::sum(o.aux[0].second).backward();
        CHECK(m->aux_classifier->cls->weight.grad().defined());
        m->eval();
        CHECK(m->forward_seg(x).aux.empty());
        CHECK(m->forward_heads(x, true).aux.size() == 1);
    }
    // ResNet: layer3 (256 channels for ResNet-18, 1024 for ResNet-50); MobileNetV2: features.13.
    CHECK(models[0]->aux_classifier->conv->in_channels == 256);
    CHECK(dynamic_cast<DeepLabV3Plus&>(*models[2]).aux_classifier->conv->in_channels == 48);  // 96 * 0.5

    FCN plain(fcn_config(r18, 3));
    CHECK(plain.aux_classifier == nullptr);
    CHECK(plain.forward_seg(x).aux.empty());  // training mode, no aux head
    CHECK_THROWS_WITH(plain.forward_heads(x, true), Catch::Contains("FCN: built without aux_loss"));
    CHECK_THROWS_WITH(plain.forward_seg(autograd::Variable(test::random_tensor({2, 1, 9, 9}, DType::F32, -1, 1, 1))),
                      Catch::Contains("FCN: expected an input (N, 3, H, W), got (2, 1, 9, 9)"));
}

TEST_CASE("torchvision ImageNet weights load into the backbone; fc is reported as unexpected",
          "[seg][models][fcn][deeplab][weights]") {
    // What docs/weights.md describes: a converted resnet*.pth is ResNet's state dict with "fc.*".
    ResNet imagenet({.depth = 18, .with_classifier = true});
    imagenet.load_state_dict(test::formula_state_dict(imagenet));
    DeepLabV3Plus m(deeplabv3plus_config({.name = "resnet18", .output_stride = 16}, 4));
    const nn::LoadReport rep = m.backbone->load_state_dict(imagenet.state_dict(), /*strict=*/false);
    CHECK(rep.unexpected == std::vector<std::string>{"fc.weight", "fc.bias"});
    CHECK(rep.missing.empty());
    CHECK(rep.shape_mismatched.empty());
    const Tensor w = m.state_dict().front().second;  // backbone.conv1.weight
    CHECK(test::max_relative_error(w, imagenet.conv1->weight.data()) == 0.0);
    // The strict load of a whole model names what is wrong.
    FCN fcn(fcn_config({.name = "resnet18"}, 4));
    CHECK_THROWS_WITH(fcn.load_state_dict(imagenet.state_dict()), Catch::Contains("fc.weight"));
}

TEST_CASE("FCN / DeepLab JSON: defaults, keys, and errors naming the JSON path", "[seg][models][fcn][deeplab][json]") {
    auto fcn = std::dynamic_pointer_cast<FCN>(build("fcn", json::object()));
    REQUIRE(fcn);
    CHECK(fcn->cfg.backbone.name == "resnet50");
    CHECK(fcn->cfg.backbone.output_stride == 8);
    CHECK_FALSE(fcn->cfg.aux_loss);
    auto v3 = std::dynamic_pointer_cast<DeepLabV3>(
        build("deeplabv3", json::parse(R"({"backbone": "resnet18", "output_stride": 16, "aux_loss": true})"), 7, 1));
    REQUIRE(v3);
    CHECK(v3->aux_classifier != nullptr);
    CHECK(v3->num_classes() == 7);
    CHECK(v3->backbone->state_dict().front().second.shape() == Shape{64, 1, 7, 7});  // in_channels 1
    CHECK(v3->extra_repr() ==
          "backbone=resnet18, output_stride=16, aspp_rates=[6, 12, 18], num_classes=7, aux_loss=true");
    auto plus = std::dynamic_pointer_cast<DeepLabV3Plus>(
        build("deeplabv3plus", json::parse(R"({"backbone": "mobilenetv2", "width_mult": 0.5, "output_stride": 8,
                                         "channels": 32, "low_level_channels": 16, "aspp_rates": [3, 5]})")));
    REQUIRE(plus);
    CHECK(plus->extra_repr() ==
          "backbone=mobilenetv2, output_stride=8, aspp_rates=[3, 5], channels=32, low_level_channels=16, "
          "num_classes=21, aux_loss=false");
    CHECK(std::dynamic_pointer_cast<DeepLabV3Plus>(build("deeplabv3plus", json::parse(R"({"backbone": "resnet18"})")))
              ->extra_repr()
              .find("output_stride=16, aspp_rates=[6, 12, 18]") != std::string::npos);

    using Catch::Contains;
    CHECK_THAT(error_of("fcn", R"({"backbone": "resnet52"})"),
               Contains("model.backbone: unknown value \"resnet52\"") && Contains("mobilenetv2"));
    CHECK_THAT(error_of("deeplabv3", R"({"output_stride": 32})"),
               Contains("model.output_stride: expected one of 8, 16, got 32"));
    CHECK_THAT(error_of("fcn", R"({"output_stride": 4})"), Contains("model.output_stride: expected one of 8, 16, 32"));
    CHECK_THAT(error_of("deeplabv3plus", R"({"aspp_rates": [6, 0]})"),
               Contains("model.aspp_rates[1]: expected an integer"));
    CHECK_THAT(error_of("deeplabv3plus", R"({"aspp_rates": []})"), Contains("model.aspp_rates: expected 1 to 8"));
    CHECK_THAT(error_of("deeplabv3", R"({"backbone": "resnet18", "width_mult": 0.5})"),
               Contains("model.width_mult: only the mobilenetv2 backbone"));
    CHECK_THAT(error_of("fcn", R"({"aux_los": true})"), Contains("model.aux_los: unknown key") && Contains("aux_loss"));
    CHECK_THAT(error_of("fcn", R"({"channels": 64})"), Contains("model.channels: unknown key"));
    CHECK_THAT(error_of("deeplabv3plus", R"({"aux_loss": 1})"), Contains("model.aux_loss: expected true or false"));
}

TEST_CASE("FCN (ResNet-18) fits one small batch", "[seg][models][fcn][train]") {
    manual_seed(0);  // a seeded init: the result must not depend on which tests ran before
    FCN m(fcn_config({.name = "resnet18", .output_stride = 8}, 3));
    CHECK(test::overfit_pixel_accuracy(m, block_batch(3, 32, 32, 8), 40) > 0.95);
}

TEST_CASE("DeepLabv3 (MobileNetV2 x0.5) fits one small batch", "[seg][models][deeplab][train]") {
    manual_seed(0);  // a seeded init: the result must not depend on which tests ran before
    DeepLabV3 m(deeplabv3_config({.name = "mobilenetv2", .output_stride = 8, .width_mult = 0.5}, 3));
    CHECK(test::overfit_pixel_accuracy(m, block_batch(3, 32, 32, 8), 40) > 0.95);
}

TEST_CASE("DeepLabv3+ (MobileNetV2 x0.5) fits one small batch", "[seg][models][deeplab][train]") {
    manual_seed(0);  // a seeded init: the result must not depend on which tests ran before
    DeepLabV3Plus m(deeplabv3plus_config({.name = "mobilenetv2", .output_stride = 16, .width_mult = 0.5}, 3, 32, 16));
    CHECK(test::overfit_pixel_accuracy(m, test::tiny_batch(3, 3, 32, 32), 40) > 0.95);
}
