// Model throughput (seg/bench/throughput.h, `segcore bench`): the measurement runs the modes asked
// for, its statistics agree with its own timings, the train step really trains, inference FLOPs
// leave out training-only heads, and bad sizes, amp strings and model names are errors naming the
// value. No timing thresholds: the numbers depend on the machine.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "kernels/ops.h"
#include "seg/bench/throughput.h"
#include "seg/inference/infer.h"
#include "seg/models/model_file.h"
#include "seg/models/summary.h"
#include "tests/seg/model_test_util.h"

using namespace segcore;
using Catch::Contains;

namespace {

std::shared_ptr<seg::SegModel> tiny_unet() {
    return test::build_registered("unet", R"({"num_classes": 4, "base_width": 4, "depth": 2})");
}

seg::ThroughputOptions tiny_options() {
    seg::ThroughputOptions o;
    o.batch = 2;
    o.height = 16;
    o.width = 20;
    o.warmup = 1;
    o.iters = 1;
    return o;
}

Tensor weight(seg::SegModel& m, const std::string& name) {
    for (const auto& [n, p] : m.named_parameters())
        if (n == name) return p.data().clone();
    FAIL("no parameter " << name);
    return {};
}

double max_abs_diff(const Tensor& a, const Tensor& b) { return ops::max(ops::abs(ops::sub(a, b))).item_double(); }

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no error";
}

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("segcore_test_throughput_" + name)).string();
}

}  // namespace

TEST_CASE("throughput: both modes give positive times and consistent images/s", "[seg][bench]") {
    auto m = tiny_unet();
    seg::ThroughputOptions o = tiny_options();
    o.iters = GENERATE(1, 3, 4);  // odd and even counts: the median's two cases
    const seg::ThroughputResult r = seg::measure_throughput(*m, o);
    CHECK(r.model == m->type_name());
    CHECK(r.params == m->num_parameters());
    CHECK(r.threads >= 1);
    for (const seg::PhaseStats* p : {&r.train, &r.infer}) {
        REQUIRE(p->ran());
        CHECK(int64_t(p->ms.size()) == o.iters);
        for (double t : p->ms) CHECK(t > 0);
        CHECK(p->min_ms <= p->median_ms);
        CHECK(p->median_ms <= p->max_ms);
        CHECK(p->min_ms <= p->mean_ms);
        CHECK(p->mean_ms <= p->max_ms);
        CHECK(p->images_per_s == Approx(double(o.batch) * 1e3 / p->median_ms));
    }
    CHECK(r.train.gflops_per_s == 0);
    // U-Net has no training-only heads: inference runs every layer of the summary.
    const seg::ModelSummary s = seg::summarize_model(*m, 3, o.height, o.width);
    CHECK(r.forward_flops == Approx(s.total_flops));
    CHECK(r.infer.gflops_per_s == Approx(r.forward_flops * double(o.batch) / (r.infer.median_ms * 1e-3) * 1e-9));
    CHECK(m->is_training());  // the flag is restored
}

TEST_CASE("throughput: the train step updates the weights, inference does not", "[seg][bench]") {
    auto m = tiny_unet();
    const std::string name = "inc.conv1.weight";
    const Tensor before = weight(*m, name);
    seg::ThroughputOptions o = tiny_options();
    o.train = false;
    const seg::ThroughputResult inf = seg::measure_throughput(*m, o);
    CHECK_FALSE(inf.train.ran());
    CHECK(inf.infer.ran());
    CHECK(max_abs_diff(weight(*m, name), before) == 0.0);

    o.train = true;
    o.infer = false;
    const seg::ThroughputResult tr = seg::measure_throughput(*m, o);
    CHECK(tr.train.ran());
    CHECK_FALSE(tr.infer.ran());
    CHECK(tr.forward_flops == 0);
    CHECK(max_abs_diff(weight(*m, name), before) > 0.0);
    // The last step's backward reached every parameter (the time is of a whole step).
    for (const auto& [n, p] : m->named_parameters()) {
        INFO(n);
        CHECK(p.grad().defined());
    }
}

TEST_CASE("throughput: mixed precision steps train too", "[seg][bench]") {
    auto m = tiny_unet();
    const Tensor before = weight(*m, "inc.conv1.weight");
    seg::ThroughputOptions o = tiny_options();
    o.amp = GENERATE(DType::BF16, DType::F16);
    const seg::ThroughputResult r = seg::measure_throughput(*m, o);
    CHECK(r.train.ran());
    CHECK(r.infer.ran());
    // f16 runs through the GradScaler, which skips a step whose gradients overflow; with the
    // initial scale on this tiny model they do not, so both precisions move the weights.
    CHECK(max_abs_diff(weight(*m, "inc.conv1.weight"), before) > 0.0);
}

TEST_CASE("throughput: inference FLOPs leave out training-only auxiliary heads", "[seg][bench]") {
    auto m = test::build_registered("fastsegnet", R"({"num_classes": 4, "width_mult": 0.25, "context_channels": 16,
                                                      "head_channels": 8})");
    seg::ThroughputOptions o = tiny_options();
    o.height = 64;
    o.width = 64;
    o.train = false;
    const seg::ThroughputResult r = seg::measure_throughput(*m, o);
    const seg::ModelSummary s = seg::summarize_model(*m, 3, o.height, o.width);
    REQUIRE(s.aux_heads == 2);
    double without_aux = 0;
    for (const seg::LayerRow& row : s.rows)
        if (row.name.rfind("aux", 0) != 0) without_aux += row.flops;
    CHECK(without_aux < s.total_flops);
    CHECK(r.forward_flops == Approx(without_aux));
}

TEST_CASE("throughput: table and JSON carry the numbers", "[seg][bench]") {
    auto m = tiny_unet();
    const seg::ThroughputResult r = seg::measure_throughput(*m, tiny_options());
    const std::string table = seg::format_throughput(r);
    CHECK_THAT(table, Contains("UNet") && Contains("train") && Contains("infer") && Contains("images/s") &&
                          Contains("batch 2 x 3x16x20"));
    const nlohmann::json j = seg::throughput_json(r);
    CHECK(j["batch"] == 2);
    CHECK(j["height"] == 16);
    CHECK(j["width"] == 20);
    CHECK(j["device"] == "cpu");
    CHECK(j["amp"] == "off");
    CHECK(j["train"]["images_per_s"].get<double>() == Approx(r.train.images_per_s));
    CHECK(j["infer"]["median_ms"].get<double>() == Approx(r.infer.median_ms));
    CHECK(j["infer"]["times_ms"].size() == 1);
    CHECK(j["infer"].contains("gflops_per_s"));
    CHECK_FALSE(j["train"].contains("gflops_per_s"));
}

TEST_CASE("throughput: bad options are errors", "[seg][bench]") {
    auto m = tiny_unet();
    seg::ThroughputOptions o = tiny_options();
    o.iters = 0;
    CHECK_THAT(error_of([&] { seg::measure_throughput(*m, o); }), Contains("iters must be >= 1, got 0"));
    o = tiny_options();
    o.train = o.infer = false;
    CHECK_THAT(error_of([&] { seg::measure_throughput(*m, o); }), Contains("nothing to measure"));
    o = tiny_options();
    o.amp = DType::F64;
    CHECK_THAT(error_of([&] { seg::measure_throughput(*m, o); }), Contains("got f64"));
}

TEST_CASE("throughput: --size and --amp strings", "[seg][bench]") {
    CHECK(seg::parse_size_hw("360x480", "--size") == std::pair<int64_t, int64_t>{360, 480});
    CHECK(seg::parse_size_hw("1x1", "--size") == std::pair<int64_t, int64_t>{1, 1});
    for (const std::string bad : {"360", "x480", "360x", "360x480px", "0x480", "-3x4", "axb", "360X480", "", "3x4x5"})
        CHECK_THAT(error_of([&] { seg::parse_size_hw(bad, "--size"); }), Contains("--size: expected HxW") && Contains("'" + bad + "'"));
    CHECK(seg::parse_bench_amp("off") == DType::F32);
    CHECK(seg::parse_bench_amp("bf16") == DType::BF16);
    CHECK(seg::parse_bench_amp("f16") == DType::F16);
    CHECK_THAT(error_of([] { seg::parse_bench_amp("fp16"); }), Contains("'fp16'"));
}

TEST_CASE("throughput: models by name, spec file, config, inline JSON and model file", "[seg][bench]") {
    // A bare registered name uses the default class count.
    seg::BenchModel b = seg::load_bench_model("unet", 7);
    CHECK(b.model->num_classes() == 7);
    CHECK(b.spec["name"] == "unet");
    CHECK(b.in_channels == 3);

    const std::string spec_text = R"({"name": "unet", "num_classes": 5, "in_channels": 2, "depth": 2, "base_width": 4})";
    b = seg::load_bench_model(spec_text);
    CHECK(b.model->num_classes() == 5);
    CHECK(b.in_channels == 2);

    const std::string spec_path = temp_path("spec.json"), config_path = temp_path("config.json");
    std::ofstream(spec_path) << spec_text;
    std::ofstream(config_path) << R"({"model": )" << spec_text << R"(, "epochs": 3})";
    CHECK(seg::load_bench_model(spec_path).model->num_classes() == 5);
    CHECK(seg::load_bench_model(config_path).in_channels == 2);
    // A config may leave the class count to its dataset (configs/camvid_enet.json does).
    std::ofstream(config_path) << R"({"name": "my_run", "model": {"name": "unet", "depth": 2, "base_width": 4}})";
    CHECK(seg::load_bench_model(config_path, 9).model->num_classes() == 9);

    const std::string file = temp_path("model.safetensors");
    seg::save_model_file(*b.model, b.spec, file);
    b = seg::load_bench_model(file);
    CHECK(b.model->num_classes() == 5);
    CHECK(b.in_channels == 2);
    // The in_channels of the spec reach the input: a 2-channel model runs.
    seg::ThroughputOptions o = tiny_options();
    o.in_channels = b.in_channels;
    CHECK(seg::measure_throughput(*b.model, o).infer.ran());

    std::filesystem::remove(spec_path);
    std::filesystem::remove(config_path);
    std::filesystem::remove(file);
}

TEST_CASE("throughput: unknown models and bad specs name the value", "[seg][bench]") {
    CHECK_THAT(error_of([] { seg::load_bench_model("resnet-unet"); }),
               Contains("unknown model 'resnet-unet'") && Contains("enet") && Contains("unet"));
    CHECK_THAT(error_of([] { seg::load_bench_model(R"({"name": "nosuch", "num_classes": 3})"); }), Contains("nosuch"));
    CHECK_THAT(error_of([] { seg::load_bench_model(R"({"name": "unet", )"); }), Contains("not valid JSON"));
    const std::string bad_file = temp_path("bad.json");
    std::ofstream(bad_file) << R"({"name": "unet", "num_classes": 3, "depht": 2})";
    CHECK_THAT(error_of([&] { seg::load_bench_model(bad_file); }), Contains(bad_file) && Contains("depht"));
    std::filesystem::remove(bad_file);
    CHECK_THAT(error_of([] { seg::load_bench_model("missing/model.safetensors"); }), Contains("missing/model.safetensors"));
}
