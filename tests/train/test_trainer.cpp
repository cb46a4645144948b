// The trainer end to end on the CPU: exact resume, interruption, non-finite detection, early
// stopping, the run folder's files, and evaluation of the saved model reproducing the trainer's
// validation numbers exactly.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "core/safetensors.h"
#include "nn/optim/state_dict.h"
#include "seg/inference/evaluate.h"
#include "seg/inference/model_card.h"
#include "seg/models/model_file.h"
#include "seg/train/trainer.h"
#include "train_test_util.h"

using namespace segcore;
using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

seg::TrainerOptions quiet(const std::string& resume = "") {
    seg::TrainerOptions o;
    o.quiet = true;
    o.resume = resume;
    return o;
}

bool same_bits(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const Tensor x = a.contiguous().cpu(), y = b.contiguous().cpu();
    return std::memcmp(x.data_ptr(), y.data_ptr(), size_t(x.nbytes())) == 0;
}

// Every tensor of two checkpoint files, bit for bit (metadata such as the date may differ).
void require_same_checkpoint(const std::string& a, const std::string& b) {
    const nn::StateDict x = nn::StateDict::load(a), y = nn::StateDict::load(b);
    REQUIRE(x.tensors.size() == y.tensors.size());
    for (const auto& [k, t] : x.tensors) {
        INFO(k);
        REQUIRE(y.tensors.count(k));
        CHECK(same_bits(t, y.tensors.at(k)));
    }
}

std::vector<json> read_jsonl(const std::string& path) {
    std::ifstream in(path);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
}

}  // namespace

TEST_CASE("trainer: N steps + interrupt + resume + N steps == 2N steps, bit for bit") {
    test::TempDir d;
    json base = test::tiny_config(d.path());
    SECTION("U-Net, one batch per step, resumed mid-epoch") {
        base["train"]["iters"] = 8;  // 3 steps per epoch: the interruption at 4 is inside epoch 2
    }
    SECTION("FCN with dropout and an auxiliary head, gradient accumulation, f16 loss scaling") {
        base["model"] = {{"name", "fcn"}, {"backbone", "mobilenetv2"}, {"width_mult", 0.25}, {"output_stride", 16},
                         {"aux_loss", true}};
        base["data"]["synth"]["train"] = 14;  // 4 batches of 3 -> 2 steps of 2 batches per epoch
        base["train"]["accumulate"] = 2;
        base["train"]["iters"] = 8;
        base["train"]["amp"] = "f16";
        base["train"]["clip_grad_norm"] = 1.0;
        base["loss"] = {{"terms", json::array({{{"type", "cross_entropy"}}, {{"type", "dice"}, {"weight", 0.5}}})},
                        {"aux_weight", 0.4}};
    }
    const int64_t n = base["train"]["iters"].get<int64_t>() / 2;

    json a = base;
    a["checkpoint"]["dir"] = d / "A";
    seg::Trainer ta(test::parse(a), quiet());
    const seg::TrainResult ra = ta.fit();
    REQUIRE(ra.stop_reason == "finished");
    REQUIRE(ra.iters == 2 * n);

    json b = base;
    b["checkpoint"]["dir"] = d / "B";
    {
        seg::Trainer tb(test::parse(b), quiet());
        // A real SIGINT, as Ctrl-C sends it: the trainer finishes the step, checkpoints and stops.
        tb.after_step = [n](seg::Trainer& t) {
            if (t.iteration() == n) std::raise(SIGINT);
        };
        const seg::TrainResult rb = tb.fit();
        REQUIRE(rb.stop_reason == "interrupted");
        CHECK(rb.signal == SIGINT);
        CHECK(rb.iters == n);
        CHECK(rb.last_checkpoint == seg::latest_checkpoint(d / "B"));
    }
    seg::Trainer tb2(test::parse(b), quiet("auto"));
    CHECK(tb2.iteration() == n);
    const seg::TrainResult rb2 = tb2.fit();
    REQUIRE(rb2.stop_reason == "finished");
    REQUIRE(rb2.iters == 2 * n);

    require_same_checkpoint(ra.last_checkpoint, rb2.last_checkpoint);
    CHECK(ra.last_val.metrics.miou == rb2.last_val.metrics.miou);
    CHECK(ra.final_train_loss == rb2.final_train_loss);
}

TEST_CASE("trainer: a short CPU run learns the synthetic scenes") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    c["data"]["synth"] = {{"train", 16}, {"val", 6}, {"height", 48}, {"width", 64}, {"classes", 4}, {"seed", 5}};
    c["model"] = {{"name", "unet"}, {"base_width", 12}, {"depth", 2}, {"bilinear", true}};
    c["train"] = {{"epochs", 12}, {"batch_size", 4}, {"seed", 0}};
    c["optimizer"]["lr"] = 0.005;
    c["eval"]["interval"] = 4;
    seg::Trainer t(test::parse(c), quiet());
    const seg::TrainResult r = t.fit();
    // The untrained network is near chance (about 1/4 mIoU at best); this recipe reaches 0.93 in
    // about 2 s on 2 cores.
    CHECK(r.best_value >= 0.85);
    CHECK(r.last_val.metrics.pixel_accuracy >= 0.85);
}

TEST_CASE("trainer: the run folder holds the config, logs, checkpoints and a self-describing best model") {
    test::TempDir d;
    const json c = test::tiny_config(d.path());
    seg::Trainer t(test::parse(c), quiet());
    const seg::TrainResult r = t.fit();
    const std::string run = d / "run";

    CHECK(json::parse(std::ifstream(run + "/config.json")) == c);
    std::string hash;
    std::ifstream(run + "/config.hash") >> hash;
    CHECK(hash == t.config_hash());

    const std::vector<json> log = read_jsonl(run + "/log.jsonl");
    REQUIRE(log.size() >= 4);
    CHECK(log.front()["type"] == "start");
    CHECK(log.back()["type"] == "end");
    int evals = 0;
    for (const json& rec : log) evals += rec["type"] == "eval";
    CHECK(evals == 2);  // iterations 3 and 6
    std::ifstream csv(run + "/metrics.csv");
    std::string header, line;
    std::getline(csv, header);
    CHECK_THAT(header, Contains("val_miou") && Contains("iou_field"));
    int rows = 0;
    while (std::getline(csv, line)) ++rows;
    CHECK(rows == evals);

    // keep_last 2: the checkpoints of the two evaluations, the newest last.
    CHECK(seg::latest_checkpoint(run) == r.last_checkpoint);
    CHECK(std::filesystem::exists(run + "/checkpoints/iter_00000003.safetensors"));

    const seg::LoadedModel m = seg::load_model_file(r.best_model);
    const seg::ModelCard card = seg::ModelCard::from_metadata(m.metadata, r.best_model);
    CHECK(card.classes == t.dataset().classes);
    CHECK(card.palette == t.dataset().palette);
    CHECK(card.preprocessing == c["data"]["val_transforms"]);
    for (const char* key : {"metrics", "config", "config_hash", "date", "hyperparameters"}) {
        INFO(key);
        CHECK(card.extra.count(key));
    }
    CHECK(json::parse(card.extra.at("config")) == c);
    CHECK(json::parse(card.extra.at("metrics"))["miou"].get<double>() == r.best_value);
}

TEST_CASE("trainer: evaluating the saved best model reproduces the trainer's validation numbers exactly") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    c["checkpoint"]["best_metric"] = "pixel_accuracy";
    seg::Trainer t(test::parse(c), quiet());
    const seg::TrainResult r = t.fit();
    const seg::LoadedModel m = seg::load_model_file(r.best_model);
    const seg::ModelCard card = seg::ModelCard::from_metadata(m.metadata, r.best_model);
    const json saved = json::parse(card.extra.at("metrics"));
    for (int64_t batch : {1, 3}) {  // the trainer validated with batches of 3
        seg::EvalSettings es;
        es.batch_size = batch;
        es.num_workers = 0;
        es.boundary_f1 = false;
        const seg::EvalResult e = seg::evaluate_model(*m.model, data::load_dataset_spec(card.dataset), "val",
                                                      card.preprocessing, card.inference, es);
        INFO("eval batch " << batch);
        CHECK(e.metrics.pixel_accuracy == saved["pixel_accuracy"].get<double>());
        CHECK(e.metrics.miou == saved["miou"].get<double>());
        CHECK(e.metrics.pixel_accuracy == r.best_value);
    }
}

TEST_CASE("trainer: a non-finite loss names the first non-finite tensor and leaves a checkpoint") {
    test::TempDir d;
    seg::Trainer t(test::parse(test::tiny_config(d.path())), quiet());
    std::string poisoned;
    t.after_step = [&](seg::Trainer& tr) {
        if (tr.iteration() != 2) return;
        auto [name, p] = tr.model().named_parameters()[3];
        poisoned = name;
        Tensor w = p.data();
        w.fill_(std::numeric_limits<double>::quiet_NaN());
    };
    try {
        t.fit();
        FAIL("fit() should have stopped at the NaN");
    } catch (const Error& e) {
        const std::string msg = e.what();
        CHECK_THAT(msg, Contains("non-finite loss at iteration 3"));
        CHECK_THAT(msg, Contains("parameter '" + poisoned + "'"));
        CHECK_THAT(msg, Contains("iter_00000002.safetensors"));
        // The poisoned weight is in that state too: the message says so (a resume would refuse it).
        CHECK_THAT(msg, Contains("but its model." + poisoned + " is not finite"));
    }
    // The checkpoint is complete and loadable.
    const nn::StateDict ck = nn::StateDict::load(seg::latest_checkpoint(d / "run"));
    CHECK(ck.get_i64("trainer.iter", "test") == 2);
}

TEST_CASE("trainer: early stopping ends the run after `patience` evaluations without improvement") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    c["train"]["iters"] = 12;
    c["eval"]["interval"] = 2;
    c["early_stopping"] = {{"patience", 2}, {"min_delta", 1.0}};  // nothing improves mIoU by 1.0
    seg::Trainer t(test::parse(c), quiet());
    const seg::TrainResult r = t.fit();
    CHECK(r.stop_reason == "early_stopping");
    CHECK(r.iters == 6);  // best at 2, no improvement at 4 and 6
    CHECK(r.best_iter == 2);
}

TEST_CASE("trainer: resume refuses mixing runs and names a truncated checkpoint") {
    test::TempDir d;
    const json c = test::tiny_config(d.path());
    {
        seg::Trainer t(test::parse(c), quiet());
        t.fit();
    }
    CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet()), Contains("--resume auto"));
    // A finished run resumed with more iterations continues from its last step.
    json longer = c;
    longer["train"]["iters"] = 9;
    {  // (a trainer holds its run folder while it lives)
        seg::Trainer more(test::parse(longer), quiet("auto"));
        CHECK(more.iteration() == 6);
        CHECK(more.fit().iters == 9);
    }

    const std::string ck = seg::latest_checkpoint(d / "run");
    const auto size = std::filesystem::file_size(ck);
    std::filesystem::resize_file(ck, size / 2);
    CHECK_THROWS_WITH(seg::Trainer(test::parse(longer), quiet(ck)), Contains(ck));
    CHECK_THROWS_WITH(seg::Trainer(test::parse(longer), quiet(d / "run/best_model.safetensors")),
                      Contains("not a segcore trainer checkpoint"));
}

TEST_CASE("trainer: distillation from a teacher model file and the Siamese consistency term train") {
    test::TempDir d;
    json teacher_cfg = test::tiny_config(d.path(), "teacher");
    seg::Trainer teacher(test::parse(teacher_cfg), quiet());
    const seg::TrainResult tr = teacher.fit();

    SECTION("kd: the student's loss includes the distillation term") {
        json c = test::tiny_config(d.path(), "student");
        c["model"]["base_width"] = 4;
        c["loss"] = {{"terms", json::array({{{"type", "cross_entropy"}},
                                            {{"type", "kd"}, {"weight", 0.5}, {"temperature", 2.0}}})},
                     {"teacher", tr.best_model}};
        seg::Trainer t(test::parse(c), quiet());
        const seg::TrainResult r = t.fit();
        CHECK(r.iters == 6);
        const std::vector<json> log = read_jsonl(d / "student/log.jsonl");
        bool seen = false;
        for (const json& rec : log)
            if (rec["type"] == "eval") {
                REQUIRE(rec.contains("train_kd"));
                CHECK(rec["train_kd"].get<double>() > 0);
                seen = true;
            }
        CHECK(seen);
    }
    SECTION("kd with a teacher of another class count is refused, naming the file") {
        json c = test::tiny_config(d.path(), "student2");
        c["data"]["synth"]["classes"] = 5;
        c["data"]["dataset"] = d / "data5/dataset.json";
        c["loss"] = {{"terms", json::array({{{"type", "kd"}}})}, {"teacher", tr.best_model}};
        CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet()), Contains("loss.teacher") && Contains(tr.best_model));
    }
    SECTION("Siamese U-Net: two views, consistency logged, weights change") {
        json c = test::tiny_config(d.path(), "siamese");
        c["model"] = {{"name", "siamese_unet"}, {"base_width", 8}, {"depth", 2}, {"bilinear", true}};
        c["loss"]["consistency"] = {{"weight", 0.5}, {"strength", 0.3}};
        seg::Trainer t(test::parse(c), quiet());
        const Tensor before = t.model().named_parameters()[0].second.data().clone();
        t.fit();
        CHECK_FALSE(same_bits(before, t.model().named_parameters()[0].second.data()));
        bool seen = false;
        for (const json& rec : read_jsonl(d / "siamese/log.jsonl"))
            if (rec["type"] == "eval") {
                REQUIRE(rec.contains("train_consistency"));
                CHECK(rec["train_consistency"].get<double>() >= 0);
                seen = true;
            }
        CHECK(seen);
        json plain = c;
        plain["model"]["name"] = "unet";
        plain["checkpoint"]["dir"] = d / "siamese_plain";
        CHECK_THROWS_WITH(seg::Trainer(test::parse(plain), quiet()), Contains("siamese_unet"));
    }
}

TEST_CASE("trainer: parameter groups take their learning-rate multiplier and weight decay") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    c["optimizer"]["groups"] = json::array({{{"match", "^outc\\."}, {"lr_mult", 0.1}, {"weight_decay", 0.0}}});
    c["scheduler"] = {{"type", "constant"}};
    seg::Trainer t(test::parse(c), quiet());
    t.fit();
    // Group 1 = the classifier (outc.*): 0.1x the rate and no decay; everything else in group 0.
    const nn::StateDict ck = nn::StateDict::load(seg::latest_checkpoint(d / "run"));
    CHECK(ck.get_f64("optimizer.param_groups.0.lr", "test") == 0.01);
    CHECK(ck.get_f64("optimizer.param_groups.1.lr", "test") == Approx(0.001));
    CHECK(ck.get_f64("optimizer.param_groups.1.weight_decay", "test") == 0.0);
    CHECK(ck.get_i64("optimizer.param_groups.1.num_params", "test") == 2);  // outc.weight, outc.bias

    json typo = c;
    typo["optimizer"]["groups"][0]["match"] = "^backbone\\.";
    typo["checkpoint"]["dir"] = d / "typo";
    CHECK_THROWS_WITH(seg::Trainer(test::parse(typo), quiet()), Contains("optimizer.groups[0].match") && Contains("matches no parameter"));
}
