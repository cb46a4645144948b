// Backbones against torchvision: parameter counts, state-dict keys and shapes (torchvision's lists
// are in tests/golden/backbones.safetensors), feature shapes at odd sizes for every output stride,
// and numeric parity with torchvision in eval mode under formula weights
// (tests/golden/make_backbone_golden.py). Also the ConvBNAct / InvertedResidual blocks, VGG's
// pooling indices for SegNet, a backward pass, and make_backbone's errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "core/safetensors.h"
#include "kernels/ops.h"
#include "nn/layers/conv_bn_act.h"
#include "seg/models/backbones/backbones.h"
#include "seg/models/backbones/mobilenetv2.h"
#include "seg/models/backbones/resnet.h"
#include "seg/models/backbones/vgg.h"
#include "tests/seg/formula_weights.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::seg;
namespace F = segcore::autograd;
using json = nlohmann::json;

namespace {

struct Golden {
    SafetensorsFile file;
    json cases;
};

const Golden& golden() {
    static const Golden g = [] {
        Golden out;
        out.file = load_safetensors(test::golden_dir() + "/backbones.safetensors");
        out.cases = json::parse(out.file.metadata.at("cases"));
        return out;
    }();
    return g;
}

// The models of the fixture by torchvision's name; with_classifier adds fc / classifier.
std::shared_ptr<Backbone> build(const std::string& model, int64_t output_stride, bool with_classifier) {
    if (model.rfind("resnet", 0) == 0)
        return std::make_shared<ResNet>(ResNetConfig{
            .depth = std::stoll(model.substr(6)), .output_stride = output_stride, .with_classifier = with_classifier});
    if (model == "mobilenet_v2")
        return std::make_shared<MobileNetV2>(
            MobileNetV2Config{.output_stride = output_stride, .with_classifier = with_classifier});
    if (model == "vgg16_bn") return std::make_shared<VGG16BN>();
    FAIL("no builder for " << model);
    return nullptr;
}

Variable classify(Backbone& b, const Variable& x) {
    if (auto* r = dynamic_cast<ResNet*>(&b)) return r->forward_classify(x);
    return dynamic_cast<MobileNetV2&>(b).forward_classify(x);
}

// Deep random nets: compare against the reference's largest magnitude, not element by element.
void require_close_to_scale(const Tensor& ours, const Tensor& ref, const std::string& what) {
    INFO(what);
    REQUIRE(ours.shape() == ref.shape());
    const double scale = ops::max(ops::abs(ref)).item_double();
    REQUIRE(scale > 0);
    REQUIRE_CLOSE(ours, ref, (test::Tolerance{1e-4 * scale, 0}));
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace

TEST_CASE("ConvBNAct: torchvision's keys, default padding, fused activation", "[backbones][blocks]") {
    nn::ConvBNAct block(4, 6, 3, {.stride = 2, .dilation = 2, .act = kernels::Act::Relu6});
    std::vector<std::string> keys;
    for (auto& [k, t] : block.state_dict()) keys.push_back(k);
    REQUIRE(keys == std::vector<std::string>{"0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                             "1.num_batches_tracked"});
    REQUIRE_FALSE(block.conv->bias.defined());
    REQUIRE(block.conv->cfg.padding == 2);  // (k - 1) / 2 * dilation
    REQUIRE(nn::ConvBNAct(4, 6, 5, {.dilation = 3}).conv->cfg.padding == 6);
    REQUIRE(nn::ConvBNAct(4, 6, 1).conv->cfg.padding == 0);

    block.load_state_dict(test::formula_state_dict(block));
    block.eval();
    const Tensor x = test::random_tensor({2, 4, 9, 12}, DType::F32, -3, 3, 7);
    const Tensor z = ops::conv2d(x, block.conv->weight.data(), Tensor(), block.conv->options());
    const Tensor ref = ops::clamp(ops::batch_norm(z, block.bn->weight.data(), block.bn->bias.data(),
                                                  block.bn->running_mean.data(), block.bn->running_var.data(), false)
                                      .y,
                                  0.0, 6.0);
    const Tensor y = block(F::Variable(x)).data();
    REQUIRE(y.shape() == Shape{2, 6, 5, 6});
    REQUIRE(ops::max(y).item_double() > 0.0);  // not all clamped away: the comparison means something
    REQUIRE_CLOSE(y, ref, (test::Tolerance{1e-5, 1e-5}));
}

TEST_CASE("InvertedResidual: torchvision's layout and the residual rule", "[backbones][blocks]") {
    // expand_ratio 1: no expansion conv, so conv.0 is the depthwise block (features.1 of MobileNetV2).
    nn::InvertedResidual thin(8, 8, {.stride = 1, .expand_ratio = 1});
    std::vector<std::string> keys;
    for (auto& [k, t] : thin.state_dict()) keys.push_back(k);
    REQUIRE(keys.front() == "conv.0.0.weight");
    REQUIRE(thin.state_dict().front().second.shape() == Shape{8, 1, 3, 3});
    REQUIRE(keys.back() == "conv.2.num_batches_tracked");
    REQUIRE(thin.use_res_connect);

    nn::InvertedResidual wide(8, 16, {.stride = 2, .dilation = 1, .expand_ratio = 6});
    const nn::NamedTensors sd = wide.state_dict();
    REQUIRE(sd.size() == 1 + 5 + 1 + 5 + 1 + 5);
    REQUIRE(sd[0].first == "conv.0.0.weight");
    REQUIRE(sd[0].second.shape() == Shape{48, 8, 1, 1});
    REQUIRE(sd[6].first == "conv.1.0.weight");
    REQUIRE(sd[6].second.shape() == Shape{48, 1, 3, 3});
    REQUIRE(sd[12].first == "conv.2.weight");
    REQUIRE(sd[12].second.shape() == Shape{16, 48, 1, 1});
    REQUIRE_FALSE(wide.use_res_connect);
    REQUIRE_FALSE(nn::InvertedResidual(8, 8, {.stride = 2}).use_res_connect);
    REQUIRE_THROWS_WITH(nn::InvertedResidual(8, 8, {.stride = 3}), Catch::Contains("stride must be 1 or 2"));

    // With the residual, forward = x + conv(x); a dilated depthwise keeps the size.
    nn::InvertedResidual res(8, 8, {.stride = 1, .dilation = 4, .expand_ratio = 6});
    res.load_state_dict(test::formula_state_dict(res));
    res.eval();
    const F::Variable x(test::random_tensor({2, 8, 7, 11}, DType::F32, -1, 1, 3));
    const Tensor body = (*res.conv)(x).data();
    REQUIRE(body.shape() == Shape{2, 8, 7, 11});
    REQUIRE_CLOSE(res(x).data(), ops::add(x.data(), body), (test::Tolerance{1e-6, 1e-6}));
}

TEST_CASE("backbones: parameter counts equal torchvision's", "[backbones][params]") {
    // From /usr/bin/python3 (torch 1.13, torchvision 0.14):
    //   import torchvision.models as tvm
    //   n = lambda m: sum(p.numel() for p in m.parameters())
    //   m = tvm.resnet18(); n(m), n(m) - n(m.fc)             # likewise resnet34/50/101
    //   m = tvm.mobilenet_v2(width_mult=w); n(m), n(m.features)   # w = 1.0, 0.5, 1.4
    //   n(tvm.vgg16_bn().features)
    struct Row {
        int64_t depth, classifier, no_fc;
    };
    for (const Row& r : {Row{18, 11689512, 11176512}, Row{34, 21797672, 21284672}, Row{50, 25557032, 23508032},
                         Row{101, 44549160, 42500160}}) {
        INFO("resnet" << r.depth);
        CHECK(ResNet({.depth = r.depth, .with_classifier = true}).num_parameters() == r.classifier);
        CHECK(ResNet({.depth = r.depth}).num_parameters() == r.no_fc);
    }
    struct MbRow {
        double width;
        int64_t classifier, features;
    };
    for (const MbRow& r : {MbRow{1.0, 3504872, 2223872}, MbRow{0.5, 1968680, 687680}, MbRow{1.4, 6108776, 4315776}}) {
        INFO("mobilenet_v2 width_mult " << r.width);
        CHECK(MobileNetV2({.width_mult = r.width, .with_classifier = true}).num_parameters() == r.classifier);
        CHECK(MobileNetV2({.width_mult = r.width}).num_parameters() == r.features);
    }
    CHECK(VGG16BN().num_parameters() == 14723136);
    // Dilation changes no parameter.
    CHECK(ResNet({.depth = 50, .output_stride = 8}).num_parameters() == 23508032);
    CHECK(MobileNetV2({.output_stride = 8}).num_parameters() == 2223872);
}

TEST_CASE("backbones: state-dict keys and shapes equal torchvision's", "[backbones][keys]") {
    int checked = 0;
    for (const json& c : golden().cases) {
        if (c["op"] != "keys") continue;
        const std::string model = c["params"]["model"];
        INFO(model);
        const json& ref = c["params"]["keys"];
        for (const bool with_classifier : {true, false}) {
            if (model == "vgg16_bn" && with_classifier) continue;  // segcore builds VGG's features only
            const nn::NamedTensors sd = build(model, 32, with_classifier)->state_dict();
            std::vector<std::pair<std::string, Shape>> expected;
            for (const json& e : ref) {
                const std::string key = e[0];
                if (!with_classifier && (starts_with(key, "fc.") || starts_with(key, "classifier."))) continue;
                expected.emplace_back(key, e[1].get<Shape>());
            }
            INFO("with_classifier " << with_classifier);
            REQUIRE(sd.size() == expected.size());
            for (size_t i = 0; i < sd.size(); ++i) {
                INFO("entry " << i);
                REQUIRE(sd[i].first == expected[i].first);
                REQUIRE(sd[i].second.shape() == expected[i].second);
            }
        }
        ++checked;
    }
    REQUIRE(checked == 6);
}

TEST_CASE("backbones: feature shapes at 97x131 for output strides 32, 16, 8", "[backbones][shapes]") {
    // "Same" padding with stride 2 rounds up: a stride-s map of ResNet / MobileNetV2 is ceil(97 / s)
    // x ceil(131 / s). VGG's 2x2 pools round down: floor(97 / s) x floor(131 / s).
    F::NoGradGuard no_grad;
    const Tensor x = test::random_tensor({2, 3, 97, 131}, DType::F32, -1, 1, 5);
    struct Expect {
        std::vector<std::string> names;
        std::vector<int64_t> channels;
    };
    const std::map<std::string, Expect> expect = {
        {"resnet18", {{"layer1", "layer2", "layer3", "layer4"}, {64, 128, 256, 512}}},
        {"resnet50", {{"layer1", "layer2", "layer3", "layer4"}, {256, 512, 1024, 2048}}},
        {"mobilenetv2",
         {{"features.1", "features.3", "features.6", "features.13", "features.18"}, {16, 24, 32, 96, 1280}}},
        {"vgg16_bn",
         {{"features.6", "features.13", "features.23", "features.33", "features.43"}, {64, 128, 256, 512, 512}}},
    };
    for (const auto& [name, e] : expect) {
        for (const int64_t os : {32, 16, 8}) {
            if (name == "vgg16_bn" && os != 32) continue;
            INFO(name << " output_stride " << os);
            std::shared_ptr<Backbone> b = make_backbone(name, os);
            b->eval();
            const std::vector<FeatureInfo> info = b->feature_info();
            const std::vector<Variable> f = b->forward_features(F::Variable(x));
            REQUIRE(f.size() == info.size());
            REQUIRE(info.size() == e.names.size());
            const int64_t first_stride = name.rfind("resnet", 0) == 0 ? 4 : 2;
            for (size_t i = 0; i < f.size(); ++i) {
                const int64_t nominal = first_stride << i;
                const int64_t stride = std::min(nominal, os);
                INFO("stage " << info[i].name);
                CHECK(info[i].name == e.names[i]);
                CHECK(info[i].channels == e.channels[i]);
                CHECK(info[i].stride == stride);
                const bool floor = name == "vgg16_bn";
                const int64_t h = floor ? 97 / stride : (97 + stride - 1) / stride;
                const int64_t w = floor ? 131 / stride : (131 + stride - 1) / stride;
                CHECK(f[i].shape() == Shape{2, e.channels[i], h, w});
            }
            CHECK(b->forward(F::Variable(x)).shape() == f.back().shape());
        }
    }
    // Spot values, spelled out: ResNet at stride 32 is 4 x 5, MobileNetV2 at 8 is 13 x 17, VGG 3 x 4.
    CHECK(make_backbone("resnet18", 32)->forward(F::Variable(x)).shape() == Shape{2, 512, 4, 5});
    CHECK(make_backbone("mobilenetv2", 8)->forward(F::Variable(x)).shape() == Shape{2, 1280, 13, 17});
    CHECK(make_backbone("vgg16_bn", 32)->forward(F::Variable(x)).shape() == Shape{2, 512, 3, 4});
}

TEST_CASE("backbones: eval outputs match torchvision under formula weights", "[backbones][golden]") {
    F::NoGradGuard no_grad;
    int checked = 0;
    for (const json& c : golden().cases) {
        if (c["op"] != "backbone") continue;
        const std::string model = c["params"]["model"];
        const int64_t os = c["params"]["output_stride"];
        INFO(model << " output_stride " << os);
        const json& out = c["out"];
        std::shared_ptr<Backbone> b = build(model, os, out.contains("logits"));
        const nn::LoadReport report = b->load_state_dict(test::formula_state_dict(*b));
        REQUIRE(report.clean());
        b->eval();
        const F::Variable x(golden().file.at(c["in"]["x"]));
        const std::vector<Variable> f = b->forward_features(x);
        auto ref = [&](const std::string& key) { return golden().file.at(out[key].get<std::string>()); };
        for (size_t i = 0; i < f.size(); ++i) {
            const std::string stage = std::to_string(i);
            require_close_to_scale(ops::mean(f[i].data(), {2, 3}), ref(stage + "/channel_mean"),
                                   stage + "/channel_mean");
            require_close_to_scale(ops::mean(f[i].data(), {1}), ref(stage + "/spatial_mean"), stage + "/spatial_mean");
        }
        REQUIRE(out.contains(std::to_string(f.size() - 1) + "/channel_mean"));
        REQUIRE_FALSE(out.contains(std::to_string(f.size()) + "/channel_mean"));
        if (out.contains("final")) require_close_to_scale(f.back().data(), ref("final"), "final");
        if (out.contains("logits")) require_close_to_scale(classify(*b, x).data(), ref("logits"), "logits");
        if (out.contains("pool_indices")) {
            const VggEncoderOutput enc = dynamic_cast<VGG16BN&>(*b).forward_encoder(x);
            REQUIRE_CLOSE(enc.indices.back(), ref("pool_indices"), (test::Tolerance{0, 0}));
        }
        ++checked;
    }
    REQUIRE(checked == 6);
}

TEST_CASE("backbones: every layer with parameters is called through Module::operator()", "[backbones][observer]") {
    // A model summary installs a ModuleCallObserver; it must see each conv and BN once per forward.
    struct Counter : nn::ModuleCallObserver {
        std::map<const nn::Module*, int> calls;
        void on_exit(nn::Module& m, const Variable&, const Variable&) override { ++calls[&m]; }
    };
    F::NoGradGuard no_grad;
    const F::Variable x(test::random_tensor({1, 3, 33, 47}, DType::F32, -1, 1, 17));
    // Convs + BNs: ResNet-50 53 + 53 (incl. 4 downsample pairs), MobileNetV2 52 + 52, VGG16-BN 13 + 13.
    for (const auto& [name, expected_layers] :
         std::map<std::string, int>{{"resnet50", 106}, {"mobilenetv2", 104}, {"vgg16_bn", 26}}) {
        INFO(name);
        std::shared_ptr<Backbone> b = make_backbone(name, name == "vgg16_bn" ? 32 : 16);
        b->eval();
        Counter counter;
        {
            nn::ObserveModuleCalls observe(&counter);
            b->forward_features(x);
        }
        int layers = 0;
        for (auto& [path, m] : b->named_modules()) {
            if (!m->named_parameters(false).empty()) {
                INFO(path);
                CHECK(counter.calls[m] == 1);
                ++layers;
            }
        }
        CHECK(layers == expected_layers);
    }
}

TEST_CASE("VGG16BN: forward_encoder keeps what SegNet's decoder needs", "[backbones][vgg]") {
    F::NoGradGuard no_grad;
    VGG16BN vgg;
    vgg.eval();
    const Tensor x = test::random_tensor({2, 3, 97, 131}, DType::F32, -1, 1, 11);
    const VggEncoderOutput enc = vgg.forward_encoder(F::Variable(x));
    const std::vector<Shape> pre = {
        {2, 64, 97, 131}, {2, 128, 48, 65}, {2, 256, 24, 32}, {2, 512, 12, 16}, {2, 512, 6, 8}};
    REQUIRE(enc.pre_pool_shapes == pre);
    REQUIRE(enc.features.size() == 5);
    REQUIRE(enc.indices.size() == 5);
    for (size_t i = 0; i < 5; ++i) {
        INFO("stage " << i);
        REQUIRE(enc.indices[i].dtype() == DType::I64);
        REQUIRE(enc.indices[i].shape() == enc.features[i].shape());
        // Indices address the pooled plane, and unpooling lands back on the pre-pool size (odd sizes
        // included: 97 -> 48 -> back to 97 needs the stored shape).
        CHECK(ops::min(enc.indices[i]).item_double() >= 0);
        CHECK(ops::max(enc.indices[i]).item_double() < double(pre[i][2] * pre[i][3]));
        const Variable up = F::max_unpool2d(enc.features[i], enc.indices[i], pre[i][2], pre[i][3]);
        CHECK(up.shape() == pre[i]);
    }
}

TEST_CASE("backbones: training-mode backward reaches every parameter", "[backbones][train]") {
    const Tensor x = test::random_tensor({2, 3, 33, 47}, DType::F32, -1, 1, 13);
    for (const std::string name : {"resnet18", "mobilenetv2"}) {
        INFO(name);
        std::shared_ptr<Backbone> b = make_backbone(name, 16);
        b->train();
        // Every stage feeds the loss, as in a U-Net-like decoder.
        Variable loss;
        for (const Variable& f : b->forward_features(F::Variable(x))) {
            const Variable s = F::mean(F::square(f));
            loss = loss.defined() ? F::add(loss, s) : s;
        }
        loss.backward();
        for (const auto& [pname, p] : b->named_parameters()) {
            INFO(pname);
            REQUIRE(p.grad().defined());
            REQUIRE(std::isfinite(ops::sum(ops::abs(p.grad())).item_double()));
        }
        // Every BatchNorm ran in training mode (batch statistics) and counted the batch.
        for (const auto& [key, t] : b->state_dict())
            if (test::ends_with(key, "num_batches_tracked")) CHECK(t.item<int64_t>() == 1);
    }
}

TEST_CASE("make_backbone: names, output strides, input channels", "[backbones][factory]") {
    REQUIRE(backbone_names() ==
            std::vector<std::string>{"resnet18", "resnet34", "resnet50", "resnet101", "mobilenetv2", "vgg16_bn"});
    REQUIRE_THROWS_WITH(make_backbone("resnet152", 32),
                        Catch::Contains("unknown backbone 'resnet152'") &&
                            Catch::Contains("resnet18, resnet34, resnet50, resnet101, mobilenetv2, vgg16_bn"));
    REQUIRE_THROWS_WITH(make_backbone("resnet50", 4), Catch::Contains("output_stride must be 32, 16 or 8"));
    REQUIRE_THROWS_WITH(make_backbone("vgg16_bn", 16), Catch::Contains("no dilated variant"));
    REQUIRE_THROWS_WITH(ResNet({.depth = 20}), Catch::Contains("depth must be 18, 34, 50 or 101"));
    REQUIRE_THROWS_WITH(ResNet({.depth = 18}).forward_classify(F::Variable(zeros({1, 3, 8, 8}))),
                        Catch::Contains("without a classifier"));

    // A 4-channel input (RGB + depth) changes only the first conv.
    std::shared_ptr<Backbone> b = make_backbone("resnet34", 32, 4);
    REQUIRE(b->state_dict().front().first == "conv1.weight");
    REQUIRE(b->state_dict().front().second.shape() == Shape{64, 4, 7, 7});
    REQUIRE(make_backbone("mobilenetv2", 32, 1)->state_dict().front().second.shape() == Shape{32, 1, 3, 3});
    REQUIRE(make_backbone("vgg16_bn", 32, 4)->state_dict().front().second.shape() == Shape{64, 4, 3, 3});
    REQUIRE_THROWS_WITH(b->forward(F::Variable(zeros({1, 3, 16, 16}))), Catch::Contains("expected input (N, 4, H, W)"));
}
