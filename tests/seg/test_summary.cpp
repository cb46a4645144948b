// Model summaries (seg/models/summary.h): per-layer rows from the ModuleCallObserver, FLOPs by
// hand for a convolution, totals, and the training-memory estimate against the CPU allocator's
// measured peak of a real training step.
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "kernels/ops.h"
#include "core/allocator.h"
#include "nn/optim/adam.h"
#include "seg/models/registry.h"
#include "seg/models/summary.h"
#include "seg/models/unet.h"

using namespace segcore;

namespace {
seg::UNetConfig tiny_unet() {
    seg::UNetConfig c;
    c.in_channels = 3;
    c.num_classes = 4;
    c.depth = 2;
    c.base_width = 8;
    return c;
}
}  // namespace

TEST_CASE("summary: leaf rows, shapes, FLOPs and totals", "[seg][models][summary]") {
    seg::UNet m(tiny_unet());
    const seg::ModelSummary s = seg::summarize_model(m, 3, 33, 40);
    CHECK(s.output == Shape{1, 4, 33, 40});
    CHECK(s.total_params == m.num_parameters());
    // Leaves: 3 DoubleConvs down (4 leaves each), 2 up steps (transposed conv + 4), outc.
    REQUIRE(s.rows.size() == 3 * 4 + 2 * 5 + 1);
    const seg::LayerRow& first = s.rows.front();
    CHECK(first.name == "inc.conv1");
    CHECK(first.type == "Conv2d");
    CHECK(first.output == Shape{1, 8, 33, 40});
    CHECK(first.params == 8 * 3 * 9);
    CHECK(first.flops == Approx(2.0 * 8 * 33 * 40 * 3 * 9));  // no bias: BN follows
    CHECK(s.rows.back().name == "outc");
    CHECK(s.rows.back().flops == Approx(2.0 * 4 * 33 * 40 * 8 + 4 * 33 * 40));
    int64_t sum = 0;
    for (const auto& r : s.rows) sum += r.params;
    CHECK(sum == s.total_params);  // nothing shared, nothing missed
    // The summary run leaves the running statistics as they were.
    const Tensor rm = m.state_dict()[2].second;  // inc.bn1.running_mean
    CHECK(ops::sum(ops::abs(rm)).item_double() == 0.0);
}

TEST_CASE("summary: the training-memory estimate is close to the measured peak", "[seg][models][summary]") {
    seg::UNet m(tiny_unet());
    const int64_t batch = 4, h = 96, w = 128;
    const seg::ModelSummary s = seg::summarize_model(m, 3, h, w);
    const seg::MemoryEstimate est = seg::estimate_training_memory(s, batch, DType::F32, "adam");

    // Measure: allocator bytes above the baseline while one Adam training step runs.
    Tensor labels = zeros({batch, h, w}, DType::I64);
    autograd::Variable x(randn({batch, 3, h, w}));
    nn::Adam opt(m.parameters());
    cpu_empty_cache();
    const int64_t base = cpu_allocator_stats().allocated - 4 * m.num_parameters();  // the weights are in the model
    cpu_reset_peak_stats();
    autograd::cross_entropy(m.forward_seg(x).out, labels).backward();
    opt.step();
    const int64_t peak = cpu_allocator_stats().peak_allocated - base;
    INFO("estimate " << est.total() << " measured " << peak);
    CHECK(double(est.total()) > 0.7 * double(peak));
    CHECK(double(est.total()) < 1.5 * double(peak));

    const seg::MemoryEstimate bf16 = seg::estimate_training_memory(s, batch, DType::BF16, "adam");
    CHECK(bf16.activations * 2 == est.activations);
    CHECK_THROWS_WITH(seg::estimate_training_memory(s, 1, DType::F32, "lion"), Catch::Contains("sgd, adam, adamw"));
}

TEST_CASE("summary: models with pooled 1x1 branches (batch norm over one value per image) summarise", "[seg][models][summary]") {
    for (const char* spec : {R"({"name": "fastsegnet", "num_classes": 3, "width_mult": 0.5})",
                             R"({"name": "deeplabv3plus", "num_classes": 3, "backbone": "mobilenetv2", "width_mult": 0.5, "aux_loss": true})"}) {
        INFO(spec);
        auto m = seg::build_model(nlohmann::json::parse(spec));
        const seg::ModelSummary s = seg::summarize_model(*m, 3, 64, 96);
        CHECK(s.output == Shape{1, 3, 64, 96});
        CHECK(s.rows.front().output[0] == 1);  // per image
        CHECK(s.aux_heads >= 1);                // training mode: the aux heads ran
    }
}
