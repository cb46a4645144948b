// Segmentation-head blocks (nn/layers/blocks.h): state-dict keys and parameter counts equal to
// the reference implementations (torchvision's ASPP and SqueezeExcitation; PSPNet's PPM and
// BiSeNet's ARM/FFM as written in their reference code), output shapes at odd sizes and N > 1,
// gradients (f64 gradcheck for the input, central differences for every parameter), ASPP's
// Dropout in train vs eval, and numeric parity with torchvision on tests/golden/blocks.safetensors
// (tests/golden/make_blocks_golden.py).
//
// The reference numbers were computed once with /usr/bin/python3 (PyTorch 1.13, torchvision 0.14);
// the Python line is beside each. The non-torchvision references are the small modules in the
// comment of the test that uses them.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "core/safetensors.h"
#include "kernels/ops.h"
#include "nn/layers.h"
#include "tests/seg/formula_weights.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::nn;
namespace F = segcore::autograd;
using json = nlohmann::json;

namespace {

std::vector<std::string> keys_of(const Module& m) {
    std::vector<std::string> out;
    for (const auto& [k, t] : m.state_dict()) out.push_back(k);
    return out;
}

// The expected keys, with "<prefix>.*" standing for a BatchNorm2d's five entries.
std::vector<std::string> expand(std::initializer_list<std::string> keys) {
    std::vector<std::string> out;
    for (const std::string& k : keys) {
        if (k.size() > 2 && k.compare(k.size() - 2, 2, ".*") == 0) {
            const std::string p = k.substr(0, k.size() - 1);
            for (const char* s : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"})
                out.push_back(p + s);
        } else {
            out.push_back(k);
        }
    }
    return out;
}

// sum(y * r) for a fixed random r: a scalar whose gradient involves every output element.
Variable projected(const Variable& y) {
    return F::sum(F::mul(y, Variable(test::random_tensor(y.shape(), y.dtype(), -1, 1, 99))));
}

void require_input_gradcheck(const F::GradcheckFn& f, const std::vector<Tensor>& inputs) {
    const F::GradcheckResult r = F::gradcheck(f, inputs);
    INFO(r.message);
    REQUIRE(r.ok);
}

// gradcheck differentiates with respect to its inputs; a module's parameters are its own leaves,
// so they are checked here by central differences on a few elements of each (first, middle,
// last), in f64.
void require_parameter_gradients(Module& m, const std::function<Variable()>& loss) {
    m.zero_grad();
    loss().backward();
    const double eps = 1e-6;
    for (auto& [name, p] : m.named_parameters()) {
        INFO("parameter " << name);
        REQUIRE(p.dtype() == DType::F64);
        REQUIRE(p.grad().defined());
        const Tensor g = p.grad().contiguous();
        Tensor value = p.data();
        double* v = value.data<double>();
        const int64_t n = p.numel();
        for (int64_t i : std::set<int64_t>{0, n / 2, n - 1}) {
            const double saved = v[i];
            v[i] = saved + eps;
            const double up = loss().item();
            v[i] = saved - eps;
            const double down = loss().item();
            v[i] = saved;
            const double numeric = (up - down) / (2 * eps), analytic = g.data<double>()[i];
            INFO("element " << i << ": analytic " << analytic << ", numeric " << numeric);
            REQUIRE(std::abs(analytic - numeric) <= 1e-6 + 1e-4 * std::abs(numeric));
        }
    }
}

Tensor input(const Shape& s, uint32_t seed, DType t = DType::F32) { return test::random_tensor(s, t, -2, 2, seed); }

}  // namespace

TEST_CASE("ASPP: torchvision's keys, parameter count, shapes", "[nn][blocks][aspp]") {
    ASPP aspp(32, {2, 3, 4}, 16);
    // list(ASPP(32, [2, 3, 4], 16).state_dict())
    REQUIRE(keys_of(aspp) == expand({"convs.0.0.weight", "convs.0.1.*", "convs.1.0.weight", "convs.1.1.*",
                                     "convs.2.0.weight", "convs.2.1.*", "convs.3.0.weight", "convs.3.1.*",
                                     "convs.4.1.weight", "convs.4.2.*", "project.0.weight", "project.1.*"}));
    // sum(p.numel() for p in ASPP(32, [2, 3, 4], 16).parameters())
    REQUIRE(aspp.num_parameters() == 16320);
    // sum(p.numel() for p in ASPP(2048, [12, 24, 36]).parameters()): DeepLabV3-ResNet's head
    REQUIRE(ASPP(2048, {12, 24, 36}).num_parameters() == 15535104);

    const std::string s = aspp.str();
    INFO(s);
    REQUIRE(s.find("(3): Sequential(\n      (0): Conv2d(32, 16, kernel_size=(3, 3), stride=(1, 1), padding=(4, 4), "
                   "dilation=(4, 4), bias=False)") != std::string::npos);
    REQUIRE(s.find("(4): ASPPPooling(\n      (0): AdaptiveAvgPool2d(output_size=1)") != std::string::npos);
    REQUIRE(s.find("(2): Dropout(p=0.5)") != std::string::npos);

    for (int64_t n : {2, 3}) REQUIRE(aspp(Variable(input({n, 32, 13, 17}, 1))).shape() == Shape{n, 16, 13, 17});
    aspp.eval();  // one image: the pooling branch's BatchNorm has one value per channel, fine in eval only
    REQUIRE(aspp(Variable(input({1, 32, 13, 17}, 2))).shape() == Shape{1, 16, 13, 17});
    REQUIRE(aspp(Variable(input({1, 32, 1, 1}, 3))).shape() == Shape{1, 16, 1, 1});
    REQUIRE_THROWS_WITH(ASPP(32, {}), Catch::Contains("at least one atrous rate"));
}

TEST_CASE("ASPP: Dropout in training only", "[nn][blocks][aspp][dropout]") {
    ASPP aspp(8, {1, 2}, 8);
    const Variable x(input({2, 8, 9, 11}, 4));
    const auto run = [&](uint64_t seed) {
        manual_seed(seed);
        return aspp(x).data().contiguous();
    };
    const Tensor a = run(1), a_again = run(1), b = run(2);
    REQUIRE_CLOSE(a_again, a, (test::Tolerance{0, 0}));
    // Dropout(0.5) keeps a survivor as 2 * z: where both runs kept an element they agree; where z
    // > 0, each run drops it independently, so about 2/3 of the elements nonzero in either run are
    // zero in exactly one of them.
    int64_t either = 0, exactly_one = 0, disagree = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
        const float u = a.data<float>()[i], v = b.data<float>()[i];
        disagree += (u != 0 && v != 0 && u != v);
        either += (u != 0 || v != 0);
        exactly_one += ((u == 0) != (v == 0));
    }
    INFO(exactly_one << " of " << either);
    REQUIRE(disagree == 0);
    REQUIRE(either > 200);
    REQUIRE(exactly_one > either / 2);
    REQUIRE(exactly_one < either * 4 / 5);

    // Eval: no dropout and no running-statistics update; repeated calls agree exactly.
    auto& project_bn = dynamic_cast<BatchNorm2d&>((*aspp.project)[1]);
    const int64_t tracked = project_bn.num_batches_tracked.data().item<int64_t>();
    REQUIRE(tracked == 3);
    aspp.eval();
    const Tensor e = run(1), e2 = run(2);
    REQUIRE_CLOSE(e2, e, (test::Tolerance{0, 0}));
    REQUIRE(project_bn.num_batches_tracked.data().item<int64_t>() == tracked);
}

TEST_CASE("ASPP: gradients", "[nn][blocks][aspp][gradcheck]") {
    ASPP aspp(4, {1, 2}, 3);
    aspp.to(DType::F64);
    const Tensor x = input({2, 4, 5, 6}, 5, DType::F64);
    // Training: BatchNorm's batch statistics, and a Dropout mask held fixed by re-seeding.
    require_input_gradcheck(
        [&](const std::vector<Variable>& v) {
            manual_seed(11);
            return aspp(v[0]);
        },
        {x});
    aspp.eval();
    require_input_gradcheck([&](const std::vector<Variable>& v) { return aspp(v[0]); }, {x});
    require_parameter_gradients(aspp, [&] { return projected(aspp(Variable(x))); });
}

TEST_CASE("SqueezeExcitation: torchvision's keys and math", "[nn][blocks][se]") {
    SqueezeExcitation se(32, 8);
    // list(SqueezeExcitation(32, 8).state_dict()); sum(p.numel() for p in SqueezeExcitation(32, 8).parameters())
    REQUIRE(keys_of(se) == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
    REQUIRE(se.num_parameters() == 552);
    REQUIRE(se.str() ==
            "SqueezeExcitation(\n  (avgpool): AdaptiveAvgPool2d(output_size=1)\n"
            "  (fc1): Conv2d(32, 8, kernel_size=(1, 1), stride=(1, 1))\n"
            "  (fc2): Conv2d(8, 32, kernel_size=(1, 1), stride=(1, 1))\n  (activation): ReLU()\n"
            "  (scale_activation): Sigmoid()\n)");

    const Tensor x = input({3, 32, 13, 17}, 6);
    const Tensor y = se(Variable(x)).data();
    REQUIRE(y.shape() == x.shape());
    // The same thing written out with the ops: x * sigmoid(fc2(relu(fc1(mean_hw(x))))).
    Tensor s = ops::mean(x, {2, 3}, true);
    s = ops::relu(ops::conv2d(s, se.fc1->weight.data(), se.fc1->bias.data(), se.fc1->options()));
    s = ops::sigmoid(ops::conv2d(s, se.fc2->weight.data(), se.fc2->bias.data(), se.fc2->options()));
    REQUIRE_CLOSE(y, ops::mul(x, s), (test::Tolerance{1e-6, 1e-5}));

    SqueezeExcitation small(4, 2, std::make_shared<Tanh>());  // a replaced activation is used
    REQUIRE(small.str().find("(activation): Tanh()") != std::string::npos);
    small.to(DType::F64);
    const Tensor x64 = input({2, 4, 5, 7}, 7, DType::F64);
    require_input_gradcheck([&](const std::vector<Variable>& v) { return small(v[0]); }, {x64});
    require_parameter_gradients(small, [&] { return projected(small(Variable(x64))); });
}

TEST_CASE("PyramidPoolingModule: keys, channels, shapes, gradients", "[nn][blocks][psp]") {
    // The reference (hszhao/semseg's PPM with the list named "stages"):
    //   class PPM(nn.Module):
    //       def __init__(s, i, bins=(1, 2, 3, 6)):
    //           super().__init__(); r = i // len(bins)
    //           s.stages = nn.ModuleList([nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(i, r, 1, bias=False),
    //                                                   nn.BatchNorm2d(r), nn.ReLU()) for b in bins])
    // list(PPM(32).state_dict()); sum(p.numel() for p in PPM(32).parameters())
    PyramidPoolingModule ppm(32);
    REQUIRE(keys_of(ppm) == expand({"stages.0.1.weight", "stages.0.2.*", "stages.1.1.weight", "stages.1.2.*",
                                    "stages.2.1.weight", "stages.2.2.*", "stages.3.1.weight", "stages.3.2.*"}));
    REQUIRE(ppm.num_parameters() == 1088);
    REQUIRE(ppm.out_channels() == 64);
    for (int64_t n : {2, 3}) REQUIRE(ppm(Variable(input({n, 32, 13, 17}, 8))).shape() == Shape{n, 64, 13, 17});
    // The input passes through unchanged as the first channels.
    const Tensor x = input({2, 32, 13, 17}, 9);
    REQUIRE_CLOSE(ppm(Variable(x)).data().narrow(1, 0, 32), x, (test::Tolerance{0, 0}));

    PyramidPoolingModule odd(30, {1, 2, 3, 6});  // 30 / 4 = 7 channels per branch, as in the reference
    REQUIRE(odd.out_channels() == 58);
    REQUIRE(odd(Variable(input({2, 30, 7, 5}, 10))).shape() == Shape{2, 58, 7, 5});
    REQUIRE_THROWS_WITH(PyramidPoolingModule(3, {1, 2, 3, 6}), Catch::Contains("cannot be split over 4 bins"));
    REQUIRE_THROWS_WITH(ppm(Variable(input({2, 16, 13, 17}, 11))), Catch::Contains("expected an input (N, 32, H, W)"));

    PyramidPoolingModule small(6, {1, 2, 3}, true);
    small.to(DType::F64);
    const Tensor x64 = input({2, 6, 5, 7}, 12, DType::F64);
    require_input_gradcheck([&](const std::vector<Variable>& v) { return small(v[0]); }, {x64});
    require_parameter_gradients(small, [&] { return projected(small(Variable(x64))); });
}

TEST_CASE("DepthwiseSeparableConv2d: keys, shapes, gradients", "[nn][blocks][separable]") {
    // def cbr(i, o, k, **kw): return nn.Sequential(nn.Conv2d(i, o, k, bias=False, **kw), nn.BatchNorm2d(o), nn.ReLU())
    // class DSC(nn.Module):
    //     def __init__(s, i, o, k=3, d=1):
    //         super().__init__(); s.depthwise = cbr(i, i, k, padding=d*(k-1)//2, dilation=d, groups=i)
    //         s.pointwise = cbr(i, o, 1)
    // list(DSC(16, 24).state_dict()); sum(p.numel() for p in DSC(16, 24).parameters())
    DepthwiseSeparableConv2d dsc(16, 24);
    REQUIRE(keys_of(dsc) == expand({"depthwise.0.weight", "depthwise.1.*", "pointwise.0.weight", "pointwise.1.*"}));
    REQUIRE(dsc.num_parameters() == 608);
    REQUIRE(dynamic_cast<Conv2d&>((*dsc.depthwise)[0]).weight.shape() == Shape{16, 1, 3, 3});

    const Variable x(input({2, 16, 13, 17}, 13));
    REQUIRE(dsc(x).shape() == Shape{2, 24, 13, 17});
    REQUIRE(DepthwiseSeparableConv2d(16, 8, {.stride = 2})(x).shape() == Shape{2, 8, 7, 9});
    REQUIRE(DepthwiseSeparableConv2d(16, 8, {.kernel_size = 5, .dilation = 3})(x).shape() == Shape{2, 8, 13, 17});
    REQUIRE(ops::min(dsc(x).data()).item_double() >= 0.0);  // ends in ReLU
    REQUIRE_THROWS_WITH(DepthwiseSeparableConv2d(4, 4, {.kernel_size = 2}), Catch::Contains("kernel_size must be odd"));

    DepthwiseSeparableConv2d small(3, 4, {.dilation = 2});
    small.to(DType::F64);
    const Tensor x64 = input({2, 3, 6, 5}, 14, DType::F64);
    require_input_gradcheck([&](const std::vector<Variable>& v) { return small(v[0]); }, {x64});
    require_parameter_gradients(small, [&] { return projected(small(Variable(x64))); });
}

// CoinCheung/BiSeNet's modules, the reference for the names:
//   class ConvBNReLU(nn.Module):
//       def __init__(s, i, o, ks=3, stride=1, padding=1):
//           super().__init__(); s.conv = nn.Conv2d(i, o, ks, stride, padding, bias=False)
//           s.bn = nn.BatchNorm2d(o); s.relu = nn.ReLU()
//   class ARM(nn.Module):
//       def __init__(s, i, o):
//           super().__init__(); s.conv = ConvBNReLU(i, o, 3, 1, 1); s.conv_atten = nn.Conv2d(o, o, 1, bias=False)
//           s.bn_atten = nn.BatchNorm2d(o); s.sigmoid_atten = nn.Sigmoid()
//   class FFM(nn.Module):
//       def __init__(s, i, o):
//           super().__init__(); s.convblk = ConvBNReLU(i, o, 1, 1, 0)
//           s.conv1 = nn.Conv2d(o, o // 4, 1, bias=False); s.conv2 = nn.Conv2d(o // 4, o, 1, bias=False)
//           s.relu = nn.ReLU(); s.sigmoid = nn.Sigmoid()
TEST_CASE("AttentionRefinementModule: keys, math, gradients", "[nn][blocks][bisenet]") {
    // list(ARM(16, 24).state_dict()); sum(p.numel() for p in ARM(16, 24).parameters())
    AttentionRefinementModule arm(16, 24);
    REQUIRE(keys_of(arm) == expand({"conv.conv.weight", "conv.bn.*", "conv_atten.weight", "bn_atten.*"}));
    REQUIRE(arm.num_parameters() == 4128);

    const Tensor x = input({3, 16, 13, 17}, 15);
    const Tensor y = arm(Variable(x)).data();
    REQUIRE(y.shape() == Shape{3, 24, 13, 17});
    // y = feat * sigmoid(BN(conv(mean_hw(feat)))), written out with the ops (eval: running statistics).
    arm.eval();
    const Tensor feat = (*arm.conv)(Variable(x)).data();
    const Tensor pooled = ops::mean(feat, {2, 3}, true);
    const Tensor logits = ops::conv2d(pooled, arm.conv_atten->weight.data(), Tensor(), arm.conv_atten->options());
    const BatchNorm2d& bn = *arm.bn_atten;
    const Tensor att = ops::sigmoid(
        ops::batch_norm(logits, bn.weight.data(), bn.bias.data(), bn.running_mean.data(), bn.running_var.data(), false)
            .y);
    REQUIRE_CLOSE(arm(Variable(x)).data(), ops::mul(feat, att), (test::Tolerance{1e-6, 1e-5}));

    AttentionRefinementModule small(3, 4);
    small.to(DType::F64);
    const Tensor x64 = input({2, 3, 5, 7}, 16, DType::F64);
    require_input_gradcheck([&](const std::vector<Variable>& v) { return small(v[0]); }, {x64});
    require_parameter_gradients(small, [&] { return projected(small(Variable(x64))); });
}

TEST_CASE("FeatureFusionModule: keys, two inputs, gradients", "[nn][blocks][bisenet]") {
    // list(FFM(32, 24).state_dict()); sum(p.numel() for p in FFM(32, 24).parameters())
    FeatureFusionModule ffm(32, 24);
    REQUIRE(keys_of(ffm) == expand({"convblk.conv.weight", "convblk.bn.*", "conv1.weight", "conv2.weight"}));
    REQUIRE(ffm.num_parameters() == 1104);
    REQUIRE(ffm.conv1->weight.shape() == Shape{6, 24, 1, 1});

    const Variable sp(input({2, 20, 13, 17}, 17)), cp(input({2, 12, 13, 17}, 18));
    const Variable y = ffm.forward(sp, cp);
    REQUIRE(y.shape() == Shape{2, 24, 13, 17});
    // y = feat (1 + att) with att in (0, 1) and feat >= 0 (after ReLU): feat <= y <= 2 feat.
    ffm.eval();
    const Tensor feat = (*ffm.convblk)(F::concat({sp, cp}, 1)).data();
    const Tensor ye = ffm.forward(sp, cp).data();
    REQUIRE(ops::min(ops::sub(ye, feat)).item_double() >= 0.0);
    REQUIRE(ops::max(ops::sub(ye, ops::mul(feat, 2.0))).item_double() <= 0.0);
    REQUIRE(ops::max(ops::sub(ye, feat)).item_double() > 0.0);
    REQUIRE_THROWS_WITH(ffm(sp), Catch::Contains("no single-input forward"));
    REQUIRE_THROWS_WITH(ffm.forward(sp, sp), Catch::Contains("must add up to 32"));

    FeatureFusionModule small(5, 8, 4);
    small.to(DType::F64);
    const Tensor a = input({2, 2, 5, 7}, 19, DType::F64), b = input({2, 3, 5, 7}, 20, DType::F64);
    require_input_gradcheck([&](const std::vector<Variable>& v) { return small.forward(v[0], v[1]); }, {a, b});
    require_parameter_gradients(small, [&] { return projected(small.forward(Variable(a), Variable(b))); });
}

TEST_CASE("golden: ASPP and SqueezeExcitation match torchvision", "[nn][blocks][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/blocks.safetensors");
    const json cases = json::parse(f.metadata.at("cases"));
    REQUIRE(cases.size() == 3);
    const Tensor x = f.at("f32/x");
    const test::Tolerance tol{1e-5, 1e-4};
    for (const json& c : cases) {
        const std::string op = c["op"];
        INFO(op);
        const json& p = c["params"];
        const auto out = [&](const std::string& k) { return f.at(c["out"][k].get<std::string>()); };
        std::unique_ptr<Module> m;
        if (op == "se")
            m = std::make_unique<SqueezeExcitation>(p["input_channels"].get<int64_t>(),
                                                    p["squeeze_channels"].get<int64_t>());
        else
            m = std::make_unique<ASPP>(p["in_channels"].get<int64_t>(), p["atrous_rates"].get<std::vector<int64_t>>(),
                                       p["out_channels"].get<int64_t>());
        // Same keys and shapes in the same order: the formula weights depend on the order.
        std::vector<std::pair<std::string, Shape>> keys;
        for (const auto& [k, t] : m->state_dict()) keys.emplace_back(k, t.shape());
        REQUIRE(keys.size() == p["keys"].size());
        for (size_t i = 0; i < keys.size(); ++i) {
            REQUIRE(keys[i].first == p["keys"][i][0].get<std::string>());
            REQUIRE(keys[i].second == p["keys"][i][1].get<Shape>());
        }
        m->load_state_dict(test::formula_state_dict(*m));

        if (op == "aspp.eval") {
            m->eval();
            const Variable xv(x, true);
            const Variable y = (*m)(xv);
            REQUIRE_CLOSE(y.data(), out("y"), tol);
            F::mul(F::sum(F::square(y)), 0.5).backward();
            REQUIRE_CLOSE(xv.grad(), out("dx"), tol);
            for (const auto& [name, param] : m->named_parameters())
                if (c["out"].contains("grad:" + name)) {
                    INFO(name);
                    REQUIRE_CLOSE(param.grad(), out("grad:" + name), tol);
                }
        } else if (op == "aspp.train") {
            (*m)(Variable(x));  // the output goes through Dropout; the statistics do not
            int checked = 0;
            for (const auto& [name, t] : m->state_dict())
                if (c["out"].contains(name)) {
                    INFO(name);
                    REQUIRE_CLOSE(t, out(name), tol);
                    ++checked;
                }
            REQUIRE(checked == 12);  // running mean and var of six BatchNorms
        } else {
            REQUIRE(op == "se");
            REQUIRE_CLOSE((*m)(Variable(x)).data(), out("y"), tol);
        }
    }
}
