// Confusion matrix and metrics against PyTorch (tests/golden/make_metrics_golden.py): torch.argmax
// (ties, NaN) + torch.bincount for the matrix, torch ops with nanmean for the metrics. Logits in
// f32, f64, f16, bf16; absent classes; a negative ignore_index.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/safetensors.h"
#include "kernels/ops.h"
#include "seg/metrics/metrics.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

void require_same_values(const std::vector<double>& ours, const Tensor& ref, const char* what) {
    INFO(what);
    REQUIRE(int64_t(ours.size()) == ref.numel());
    for (int64_t i = 0; i < ref.numel(); ++i) {
        const double r = ref.get_double(i);
        INFO("index " << i << " ours " << ours[size_t(i)] << " torch " << r);
        if (std::isnan(r))
            REQUIRE(std::isnan(ours[size_t(i)]));
        else
            REQUIRE(std::abs(ours[size_t(i)] - r) <= 1e-12 + 1e-12 * std::abs(r));
    }
}

}  // namespace

TEST_CASE("confusion matrix and metrics match PyTorch", "[metrics][golden]") {
    const SafetensorsFile f = load_safetensors(test::golden_dir() + "/metrics_confusion.safetensors");
    int cases = 0;
    for (const std::string& name : f.names()) {
        if (name.size() < 7 || name.substr(name.size() - 7) != "/params") continue;
        const std::string k = name.substr(0, name.size() - 7);
        INFO("case " << k);
        ++cases;
        const Tensor params = f.at(name);
        const int64_t c = params.data<int64_t>()[0];
        ops::ConfusionOptions opt;
        opt.ignore_index = params.data<int64_t>()[1];
        const Tensor conf = ops::confusion_matrix(f.at(k + "/logits"), f.at(k + "/target"), c, opt);
        REQUIRE(test::compare(conf, f.at(k + "/confusion"), {0, 0}).empty());
        const seg::SegMetrics m = seg::compute_metrics(conf);
        require_same_values({m.pixel_accuracy, m.mean_accuracy, m.miou, m.fwiou, m.mean_dice}, f.at(k + "/summary"),
                            "summary");
        require_same_values(m.iou, f.at(k + "/iou"), "iou");
        require_same_values(m.dice, f.at(k + "/dice"), "dice");
        require_same_values(m.precision, f.at(k + "/precision"), "precision");
        require_same_values(m.recall, f.at(k + "/recall"), "recall");
    }
    REQUIRE(cases == 6);
}
