// nn::Module (nn/module.h), init (nn/init.h) and the Foundation-only layers: dotted names,
// state_dict round trips (strict and non-strict), placement, modes, printing, init statistics.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "autograd/functions.h"
#include "core/safetensors.h"
#include "kernels/ops.h"
#include "nn/layers.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::nn;
namespace F = segcore::autograd;

namespace {

// A module with a buffer (running statistics) and nesting, like a small backbone.
class Block : public Module {
public:
    explicit Block(int64_t c) : Module("Block") {
        fc = register_module("fc", std::make_shared<Linear>(c, c));
        scale = register_parameter("scale", ones({c}));
        running = register_buffer("running_mean", zeros({c}));
        steps = register_buffer("num_batches_tracked", zeros({}, {DType::I64}));
        scratch = register_buffer("scratch", zeros({c}), /*persistent=*/false);
    }
    Variable forward(const Variable& x) override { return F::mul((*fc)(x), scale); }
    std::shared_ptr<Linear> fc;
    Variable scale, running, steps, scratch;
};

class Net : public Module {
public:
    Net() : Module("Net") {
        stem = register_module("stem", std::make_shared<Linear>(3, 4));
        body = register_module("body", std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
                                           std::make_shared<Block>(4), std::make_shared<ReLU>(), std::make_shared<Block>(4)}));
        head = register_module("head", std::make_shared<Linear>(4, 2, /*bias=*/false));
    }
    Variable forward(const Variable& x) override { return (*head)((*body)((*stem)(x))); }
    std::shared_ptr<Linear> stem, head;
    std::shared_ptr<Sequential> body;
};

std::vector<std::string> keys(const NamedTensors& sd) {
    std::vector<std::string> k;
    for (auto& [n, t] : sd) k.push_back(n);
    return k;
}

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("segcore_test_module_" + name)).string();
}

}  // namespace

TEST_CASE("parameters and buffers get torch-style dotted names in PyTorch's order", "[nn][module]") {
    Net net;
    const std::vector<std::string> expected = {
        "stem.weight", "stem.bias",
        "body.0.scale", "body.0.running_mean", "body.0.num_batches_tracked", "body.0.fc.weight", "body.0.fc.bias",
        "body.2.scale", "body.2.running_mean", "body.2.num_batches_tracked", "body.2.fc.weight", "body.2.fc.bias",
        "head.weight"};
    REQUIRE(keys(net.state_dict()) == expected);  // non-persistent "scratch" is not saved
    REQUIRE(net.named_parameters().size() == 9);
    REQUIRE(net.named_parameters()[0].first == "stem.weight");
    REQUIRE(net.num_parameters() == (3 * 4 + 4) + 2 * (4 + 16 + 4) + 8);
    net.stem->bias.set_requires_grad(false);
    REQUIRE(net.num_parameters(/*trainable_only=*/true) == net.num_parameters() - 4);
    std::vector<std::string> modules;
    for (auto& [n, m] : net.named_modules()) modules.push_back(n);
    REQUIRE(modules == std::vector<std::string>{"", "stem", "body", "body.0", "body.0.fc", "body.1", "body.2",
                                                "body.2.fc", "head"});
}

TEST_CASE("register_* rejects bad and duplicate names", "[nn][module]") {
    class Bad : public Module {
    public:
        Bad() : Module("Bad") {}
        void add(const std::string& n) { register_parameter(n, zeros({1})); }
    };
    Bad b;
    b.add("w");
    REQUIRE_THROWS_WITH(b.add("w"), Catch::Contains("already a parameter"));
    REQUIRE_THROWS_WITH(b.add("a.b"), Catch::Contains("no '.'"));
}

TEST_CASE("state_dict round-trips exactly through safetensors", "[nn][module]") {
    manual_seed(1);
    Net a;
    Tensor running = a.body->named_buffers()[0].second.data();  // body.0.running_mean
    running.fill_(0.25);
    manual_seed(2);
    Net b;
    const std::string path = temp_path("roundtrip.safetensors");
    save_module(a, path, {{"note", "test"}});
    const LoadReport r = load_module(b, path);
    REQUIRE(r.clean());
    REQUIRE(r.loaded.size() == a.state_dict().size());
    const auto sa = a.state_dict(), sb = b.state_dict();
    for (size_t i = 0; i < sa.size(); ++i) {
        INFO(sa[i].first);
        REQUIRE_CLOSE(sb[i].second, sa[i].second, (test::Tolerance{0, 0}));
    }
    // Loading copies into the existing tensors: handles held elsewhere (an optimiser) stay valid.
    const Variable w = b.stem->weight;
    REQUIRE(w.data().data_ptr() == b.state_dict()[0].second.data_ptr());
    std::filesystem::remove(path);
}

TEST_CASE("load_state_dict: strict errors list every problem; non-strict reports them", "[nn][module]") {
    Net net;
    NamedTensors sd = net.state_dict();
    sd.erase(sd.begin());                                  // stem.weight missing
    sd.emplace_back("extra.weight", zeros({2}));           // unexpected
    for (auto& [n, t] : sd)
        if (n == "head.weight") t = zeros({3, 4});         // shape mismatch
    try {
        net.load_state_dict(sd, true);
        FAIL("strict load must throw");
    } catch (const Error& e) {
        const std::string m = e.what();
        REQUIRE(m.find("missing key: stem.weight") != std::string::npos);
        REQUIRE(m.find("unexpected key: extra.weight") != std::string::npos);
        REQUIRE(m.find("shape mismatch for head.weight") != std::string::npos);
        REQUIRE(m.find("(2, 4)") != std::string::npos);
    }
    const Tensor before = net.stem->bias.data().clone();
    for (auto& [n, t] : sd)
        if (n == "stem.bias") t = full({4}, 7.0);
    const LoadReport r = net.load_state_dict(sd, false);
    REQUIRE(r.missing == std::vector<std::string>{"stem.weight"});
    REQUIRE(r.unexpected == std::vector<std::string>{"extra.weight"});
    REQUIRE(r.shape_mismatched.size() == 1);
    REQUIRE(net.stem->bias.data().get_double(0) == 7.0);
    (void)before;
}

TEST_CASE("load_state_dict: dtypes must match, except between floating dtypes", "[nn][module]") {
    using Catch::Contains;
    Net net;
    const auto with = [&](const std::string& key, const Tensor& value) {
        NamedTensors sd = net.state_dict();
        for (auto& [n, t] : sd)
            if (n == key) t = value;
        return sd;
    };
    // An integer tensor never loads into a float weight, nor a float into an integer buffer.
    REQUIRE_THROWS_WITH(net.load_state_dict(with("stem.bias", from_vector<int32_t>({1, 2, 3, 4}, {4}))),
                        Contains("dtype mismatch for stem.bias: the module has f32, the state has i32"));
    REQUIRE_THROWS_WITH(net.load_state_dict(with("body.0.num_batches_tracked", full({}, 3.0))),
                        Contains("dtype mismatch for body.0.num_batches_tracked: the module has i64, the state has f32"));
    REQUIRE(net.stem->bias.data().get_double(0) != 1.0);  // nothing was loaded
    const LoadReport r = net.load_state_dict(with("stem.bias", ones({4}, DType::U8)), /*strict=*/false);
    REQUIRE(r.dtype_mismatched.size() == 1);
    CHECK_FALSE(r.clean());
    CHECK(net.stem->bias.data().get_double(0) != 1.0);
    // Floating dtypes convert: an f16 or bf16 file loads into f32 weights.
    net.load_state_dict(with("stem.bias", full({4}, 0.5, DType::F16)));
    CHECK(net.stem->bias.data().dtype() == DType::F32);
    CHECK(net.stem->bias.data().get_double(3) == 0.5);
    net.load_state_dict(with("stem.bias", full({4}, 0.25, DType::BF16)));
    CHECK(net.stem->bias.data().get_double(0) == 0.25);
}

TEST_CASE("load_state_dict: NaN/Inf values are refused, naming the tensor, unless allowed", "[nn][module]") {
    using Catch::Contains;
    Net net;
    const std::string path = temp_path("nan.safetensors");
    NamedTensors sd = net.state_dict();
    for (auto& [n, t] : sd)
        if (n == "body.2.running_mean") t = from_vector<float>({0, 1, NAN, 3}, {4});
    save_safetensors(path, sd);
    Net fresh;
    const double kept = fresh.stem->weight.data().get_double(0);
    REQUIRE_THROWS_WITH(load_module(fresh, path), Contains(path) && Contains("tensor 'body.2.running_mean'") &&
                                                      Contains("element 2 of 4 = nan") && Contains("--allow-nonfinite"));
    REQUIRE_THROWS_WITH(load_module(fresh, path, /*strict=*/false), Contains("body.2.running_mean"));
    CHECK(fresh.stem->weight.data().get_double(0) == kept);  // nothing was loaded
    // An infinity in a half-precision file too.
    for (auto& [n, t] : sd)
        if (n == "body.2.running_mean") t = zeros({4});
        else if (n == "head.weight") t = full({2, 4}, INFINITY, DType::F16);
    REQUIRE_THROWS_WITH(fresh.load_state_dict(sd), Contains("tensor 'head.weight'") && Contains("inf"));
    // Allowed explicitly, it loads.
    fresh.load_state_dict(sd, /*strict=*/true, /*allow_nonfinite=*/true);
    CHECK(std::isinf(fresh.head->weight.data().get_double(0)));
    CHECK_THAT(find_nonfinite(fresh.state_dict()), Contains("head.weight"));
    // A key that is not loaded (non-strict, unexpected) does no harm.
    NamedTensors extra = net.state_dict();
    extra.emplace_back("unused", from_vector<float>({NAN}, {1}));
    CHECK(fresh.load_state_dict(extra, /*strict=*/false).unexpected == std::vector<std::string>{"unused"});
    std::filesystem::remove(path);
}

TEST_CASE("a truncated weights file is a clear error naming the file", "[nn][module]") {
    Net net;
    const std::string path = temp_path("trunc.safetensors");
    save_module(net, path);
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
    REQUIRE_THROWS_WITH(load_module(net, path), Catch::Contains(path));
    std::filesystem::remove(path);
}

TEST_CASE("train/eval propagate; to(dtype) converts floating state only", "[nn][module]") {
    Net net;
    net.eval();
    for (auto& [n, m] : net.named_modules()) REQUIRE_FALSE(m->is_training());
    net.train();
    REQUIRE(net.body->is_training());
    const Variable w = net.stem->weight;  // a handle taken before the conversion
    net.to(DType::F64);
    REQUIRE(w.dtype() == DType::F64);  // the same parameter, converted in place
    for (auto& [n, t] : net.state_dict()) {
        INFO(n);
        REQUIRE(t.dtype() == (n.find("num_batches_tracked") != std::string::npos ? DType::I64 : DType::F64));
    }
    const Variable y = net.forward(Variable(ones({2, 3}, {DType::F64})));
    REQUIRE(y.shape() == Shape{2, 2});
}

TEST_CASE("printing follows PyTorch's layout", "[nn][module]") {
    Sequential s({std::make_shared<Linear>(3, 5), std::make_shared<GELU>(), std::make_shared<Dropout>(0.1),
                  std::make_shared<Linear>(5, 2, false)});
    REQUIRE(s.str() ==
            "Sequential(\n"
            "  (0): Linear(in_features=3, out_features=5, bias=True)\n"
            "  (1): GELU(approximate='none')\n"
            "  (2): Dropout(p=0.1)\n"
            "  (3): Linear(in_features=5, out_features=2, bias=False)\n"
            ")");
}

TEST_CASE("init functions have the documented statistics and are seeded", "[nn][init]") {
    Variable w(empty({256, 128, 3, 3}));  // fan_in = 1152, fan_out = 2304
    const auto mean_std = [](const Variable& v) {
        auto [var, mean] = ops::var_mean(v.data());
        return std::pair<double, double>{mean.item_double(), std::sqrt(var.item_double())};
    };
    init::kaiming_normal_(w, 0.0, init::FanMode::FanOut, "relu");
    auto [m1, s1] = mean_std(w);
    REQUIRE(std::fabs(m1) < 0.001);
    REQUIRE(s1 == Approx(std::sqrt(2.0 / 2304)).epsilon(0.01));
    init::kaiming_uniform_(w, 0.0, init::FanMode::FanIn, "relu");
    auto [m2, s2] = mean_std(w);
    REQUIRE(s2 == Approx(std::sqrt(2.0 / 1152)).epsilon(0.01));  // U(-b, b) has std b / sqrt(3)
    REQUIRE(ops::max(w.data()).item_double() <= std::sqrt(6.0 / 1152));
    init::xavier_uniform_(w);
    REQUIRE(mean_std(w).second == Approx(std::sqrt(2.0 / (1152 + 2304))).epsilon(0.01));
    init::xavier_normal_(w, 2.0);
    REQUIRE(mean_std(w).second == Approx(2.0 * std::sqrt(2.0 / (1152 + 2304))).epsilon(0.01));
    init::trunc_normal_(w, 0.0, 0.02, -0.04, 0.04);
    REQUIRE(ops::max(w.data()).item_double() <= 0.04);
    REQUIRE(ops::min(w.data()).item_double() >= -0.04);
    // N(0, 0.02) truncated at 2 sigma has std 0.02 * 0.8796.
    REQUIRE(mean_std(w).second == Approx(0.02 * 0.8796).epsilon(0.02));
    init::constant_(w, 0.5);
    REQUIRE(ops::min(w.data()).item_double() == 0.5);
    // Seeded: the same generator state gives the same weights.
    Generator g1(42), g2(42);
    Variable a(empty({10, 10})), b(empty({10, 10}));
    init::kaiming_uniform_(a, 0.0, init::FanMode::FanIn, "relu", &g1);
    init::kaiming_uniform_(b, 0.0, init::FanMode::FanIn, "relu", &g2);
    REQUIRE_CLOSE(a.data(), b.data(), (test::Tolerance{0, 0}));
    REQUIRE(init::calculate_gain("leaky_relu", 0.2) == Approx(std::sqrt(2.0 / 1.04)));
    REQUIRE_THROWS_WITH(init::calculate_gain("swish"), Catch::Contains("unknown nonlinearity"));
}

TEST_CASE("Linear matches the formula and PyTorch's default init bounds", "[nn][layers]") {
    Linear lin(4, 3);
    const double bound = 1.0 / std::sqrt(4.0);
    REQUIRE(ops::max(ops::abs(lin.weight.data())).item_double() <= bound);
    REQUIRE(ops::max(ops::abs(lin.bias.data())).item_double() <= bound);
    const Tensor x = test::random_tensor({5, 4}, DType::F32, -1, 1, 3);
    const Tensor expected = ops::add(ops::matmul(x, lin.weight.data().t()), lin.bias.data());
    REQUIRE_CLOSE(lin(Variable(x)).data(), expected, test::tolerance_for(DType::F32));
    REQUIRE_THROWS_WITH(lin(Variable(zeros({2, 5}))), Catch::Contains("in_features = 4"));
}

TEST_CASE("Dropout: inverted scaling in training, identity in eval, seeded mask", "[nn][layers]") {
    Generator g(7);
    Dropout d(0.25, &g);
    const Variable x(ones({100000}));
    const Variable y = d(x);
    const double kept = ops::sum(ops::ne(y.data(), 0.0).to(DType::F32)).item_double() / 100000.0;
    REQUIRE(kept == Approx(0.75).epsilon(0.02));
    REQUIRE(ops::max(y.data()).item_double() == Approx(1.0 / 0.75));
    d.eval();
    REQUIRE(d(x).data().data_ptr() == x.data().data_ptr());
    // Gradient flows only through kept elements, scaled the same way.
    d.train();
    Variable leaf(ones({1000}), true);
    const Variable out = d(leaf);
    F::sum(out).backward();
    REQUIRE_CLOSE(leaf.grad(), out.data(), (test::Tolerance{1e-6, 0}));
}

TEST_CASE("a ModuleCallObserver sees every call through operator(), innermost first on exit", "[nn][module]") {
    struct Recorder : ModuleCallObserver {
        std::vector<std::string> entered, exited;
        std::vector<Shape> shapes;
        void on_enter(Module& m, const Variable&) override { entered.push_back(m.type_name()); }
        void on_exit(Module& m, const Variable&, const Variable& y) override {
            exited.push_back(m.type_name());
            shapes.push_back(y.data().shape());
        }
    };
    Net net;
    const Variable x(randn({5, 3}));
    Recorder rec;
    {
        ObserveModuleCalls guard(&rec);
        net(x);
    }
    const std::vector<std::string> exited = {"Linear", "Linear", "Block", "ReLU", "Linear", "Block", "Sequential",
                                             "Linear", "Net"};
    CHECK(rec.exited == exited);
    CHECK(rec.entered.front() == "Net");
    CHECK(rec.entered.size() == exited.size());
    CHECK(rec.shapes.back() == Shape{5, 2});
    net(x);  // the guard is gone: nothing more is recorded
    CHECK(rec.exited.size() == exited.size());
}
