// The run folder belongs to one trainer, survives kills (stale temp files, torn and duplicate log
// records), trusts no tampered trainer state, and `--check` (TrainerOptions::check_only) writes
// nothing yet catches what would fail at iteration 1. Failures in the loop save first, then stop.
// The multi-process cases (a second `segcore train`, kill -9, SIGTERM) are in
// tests/apps/run_folder_cli.sh.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <set>

#include "core/error.h"
#include "nn/optim/state_dict.h"
#include "seg/train/run_folder.h"
#include "seg/train/trainer.h"
#include "train_test_util.h"

using namespace segcore;
using Catch::Matchers::Contains;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

seg::TrainerOptions quiet(const std::string& resume = "", bool check = false) {
    seg::TrainerOptions o;
    o.quiet = true;
    o.resume = resume;
    o.check_only = check;
    return o;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void append(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::app) << text; }

// The iteration column of metrics.csv, one entry per row.
std::vector<int64_t> csv_iters(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);  // header
    std::vector<int64_t> out;
    while (std::getline(in, line)) out.push_back(std::stoll(line.substr(line.find(',') + 1)));
    return out;
}

// Every file under `dir` with its contents: to prove that nothing was written.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> m;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) m[e.path().string()] = slurp(e.path().string());
    return m;
}

}  // namespace

TEST_CASE("run folder: a second trainer on the same folder refuses, naming the folder and the holder's pid") {
    test::TempDir d;
    const json c = test::tiny_config(d.path());
    const std::string run = d / "run";
    seg::Trainer first(test::parse(c), quiet());
    const std::string pid = "pid " + std::to_string(::getpid());
    CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet()), Contains(run) && Contains("in use") && Contains(pid));
    CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet("auto")), Contains(run) && Contains(pid));
    CHECK_THAT(seg::RunFolderLock::holder(run), Contains(pid));
    // --check only reads: it neither takes the lock nor is refused.
    seg::Trainer check(test::parse(c), quiet("auto", true));
    CHECK(first.fit().stop_reason == "finished");
    // The holder's files were not touched by the refused ones: one start record, two evaluations.
    CHECK(csv_iters(run + "/metrics.csv") == std::vector<int64_t>{3, 6});
}

TEST_CASE("run folder: the lock is released when its holder ends") {
    test::TempDir d;
    fs::create_directories(d / "run");
    { seg::RunFolderLock lock(d / "run", "test"); }
    CHECK(seg::RunFolderLock::holder(d / "run").empty());
    seg::RunFolderLock again(d / "run", "test");
    CHECK_THROWS_WITH(seg::RunFolderLock(d / "run", "other"), Contains("in use") && Contains("test"));
}

TEST_CASE("run folder: temp files of processes that no longer run are removed, live ones are kept") {
    test::TempDir d;
    fs::create_directories(d / "run/checkpoints");
    const std::string dead = "999999999";  // above any pid_max
    const std::string mine = std::to_string(::getpid());
    for (const std::string& f : std::vector<std::string>{"run/config.json.tmp." + dead + ".0", "run/checkpoints/iter_00000009.safetensors.tmp." + dead,
          "run/best_model.safetensors.tmp." + mine, "run/checkpoints/iter_00000003.safetensors.tmp.1.2",
          "run/checkpoints/iter_00000003.safetensors", "run/notes.tmp.txt"})
        append(d / f, "x");
    const std::vector<std::string> removed = seg::remove_stale_temp_files(d / "run");
    CHECK(std::set<std::string>(removed.begin(), removed.end()) ==
          std::set<std::string>{d / ("run/config.json.tmp." + dead + ".0"),
                                d / ("run/checkpoints/iter_00000009.safetensors.tmp." + dead)});
    CHECK(fs::exists(d / ("run/best_model.safetensors.tmp." + mine)));    // ours
    CHECK(fs::exists(d / "run/checkpoints/iter_00000003.safetensors.tmp.1.2"));  // pid 1 runs
    CHECK(fs::exists(d / "run/notes.tmp.txt"));
}

TEST_CASE("run folder: a resumed run drops log records of lost iterations and torn lines, then writes each once") {
    test::TempDir d;
    const json c = test::tiny_config(d.path());
    const std::string run = d / "run";
    {
        seg::Trainer t(test::parse(c), quiet());
        t.fit();
    }
    // As if killed after the evaluation at 6 but before its checkpoint, mid-way through a line,
    // with a partial checkpoint left behind.
    fs::remove(run + "/checkpoints/iter_00000006.safetensors");
    append(run + "/metrics.csv", "2,7,0.5");
    append(run + "/log.jsonl", "{\"type\":\"step\",\"it");
    append(run + "/checkpoints/iter_00000006.safetensors.tmp.999999999", "partial");
    json longer = c;
    longer["train"]["iters"] = 9;
    seg::Trainer t(test::parse(longer), quiet("auto"));
    REQUIRE(t.iteration() == 3);
    CHECK(csv_iters(run + "/metrics.csv") == std::vector<int64_t>{3});
    CHECK_FALSE(fs::exists(run + "/checkpoints/iter_00000006.safetensors.tmp.999999999"));
    std::ifstream log(run + "/log.jsonl");
    for (std::string line; std::getline(log, line);) {
        INFO(line);
        const json r = json::parse(line);  // no torn line
        CHECK(r["iter"].get<int64_t>() <= 3);
    }
    t.fit();
    CHECK(csv_iters(run + "/metrics.csv") == std::vector<int64_t>{3, 6, 9});
}

TEST_CASE("trainer state: tampered or inconsistent values are refused, naming the file and the field") {
    test::TempDir d;
    const json c = test::tiny_config(d.path());
    {
        seg::Trainer t(test::parse(c), quiet());
        t.fit();
    }
    const std::string ck = seg::latest_checkpoint(d / "run");
    const std::string bad = d / "bad.safetensors";
    const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
    struct Case {
        const char* field;
        bool f64;
        double value;
    };
    for (const Case& k : {Case{"iter", false, -5}, Case{"epoch", false, double(int64_t(1) << 62)},
                          Case{"epoch", false, 0}, Case{"step_in_epoch", false, -1}, Case{"loss_sum", true, -6.2},
                          Case{"loss_sum", true, inf}, Case{"loss_count", false, 99}, Case{"best_value", true, nan},
                          Case{"best_value", true, 1.5}, Case{"best_iter", false, 7}, Case{"evals_since_best", false, -1},
                          Case{"skipped_steps", false, 1e9}, Case{"rng_offset", false, -3}, Case{"rng_seed", false, 5},
                          Case{"eval_pending", false, 5}}) {
        INFO(k.field << " = " << k.value);
        nn::StateDict sd = nn::StateDict::load(ck);
        if (k.f64)
            sd.put_f64(std::string("trainer.") + k.field, k.value);
        else
            sd.put_i64(std::string("trainer.") + k.field, int64_t(k.value));
        sd.save(bad);
        CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet(bad)),
                          Contains(bad) && Contains(std::string("trainer.") + k.field));
    }
    // The states beside it: the schedule's position, the loss scale, the weights.
    auto tampered = [&](const std::function<void(nn::StateDict&)>& edit, const std::string& field) {
        INFO(field);
        nn::StateDict sd = nn::StateDict::load(ck);
        edit(sd);
        sd.save(bad);
        CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet(bad)), Contains(bad) && Contains(field));
    };
    tampered([](nn::StateDict& sd) { sd.put_i64("scheduler.last_iter", 2); }, "scheduler.last_iter");
    tampered([](nn::StateDict& sd) { sd.tensors["scaler.scale"] = from_vector<float>({-1.0f}, {}); }, "scaler.scale");
    tampered(
        [](nn::StateDict& sd) {
            Tensor& w = sd.tensors.at("model.outc.weight");
            w = w.clone();
            w.data<float>()[1] = std::nanf("");
        },
        "model.outc.weight");
    // An optimiser moment (momentum buffer or Adam's averages): the first floating state tensor.
    std::string moment;
    for (const auto& [key, t] : nn::StateDict::load(ck).tensors)
        if (moment.empty() && key.rfind("optimizer.state.", 0) == 0 && is_floating(t.dtype()) && t.numel() > 1)
            moment = key;
    REQUIRE(!moment.empty());
    tampered(
        [&](nn::StateDict& sd) {
            Tensor& m = sd.tensors.at(moment);
            m = m.clone();
            m.data<float>()[0] = INFINITY;
        },
        moment);
    // The untouched checkpoint still loads.
    seg::Trainer ok(test::parse(c), quiet(ck));
    CHECK(ok.iteration() == 6);
}

TEST_CASE("--check: writes nothing, not even for a synthetic dataset or a resumed run with another config") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    {
        seg::Trainer t(test::parse(c), quiet(/*resume=*/"", /*check=*/true));
        t.dry_run();
        CHECK(t.total_iters() == 6);
    }
    CHECK_FALSE(fs::exists(d / "run"));
    CHECK_FALSE(fs::exists(d / "data"));
    {
        seg::Trainer t(test::parse(c), quiet());
        t.fit();
    }
    const auto before = snapshot(d.path());
    json other = c;
    other["optimizer"]["lr"] = 0.5;
    other["train"]["iters"] = 12;
    seg::Trainer t(test::parse(other), quiet("auto", true));
    t.dry_run();
    CHECK(t.iteration() == 6);
    CHECK(snapshot(d.path()) == before);
}

TEST_CASE("--check: catches what would fail at the first iteration") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    SECTION("model.in_channels differs from the dataset's images") {
        c["model"]["in_channels"] = 1;
        CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet("", true)), Contains("model.in_channels") && Contains("3"));
    }
    SECTION("class_weights of the wrong length") {
        c["loss"] = {{"terms", json::array({{{"type", "cross_entropy"}, {"class_weights", {1.0, 2.0}}}})}};
        CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet("", true)),
                          Contains("loss.terms[0].class_weights") && Contains("4 classes"));
    }
    SECTION("focal alpha of the wrong length") {
        c["loss"] = {{"terms", json::array({{{"type", "focal"}, {"alpha", {0.25, 0.25, 0.25, 0.25, 0.25}}}})}};
        CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet("", true)), Contains("loss.terms[0].alpha"));
    }
    SECTION("a normalisation for 2-channel images: the dry run's first batch fails") {
        c["data"]["train_transforms"] = json::array({{{"type", "normalize"}, {"mean", {0.5, 0.5}}, {"std", {0.2, 0.2}}}});
        seg::Trainer t(test::parse(c), quiet("", true));
        CHECK_THROWS_WITH(t.dry_run(), Contains("normalize"));
    }
    CHECK_FALSE(fs::exists(d / "run"));
}

TEST_CASE("trainer: a bad validation image saves the iterations done, then stops naming the epoch and the file") {
    test::TempDir d;
    const json c = test::tiny_config(d.path());
    auto t = std::make_unique<seg::Trainer>(test::parse(c), quiet());
    const std::string image = d / "data/val/images/0001.png";
    std::string good;
    t->after_step = [&](seg::Trainer& tr) {  // after the evaluation at 3, before the one at 6
        if (tr.iteration() != 4) return;
        good = slurp(image);
        std::ofstream(image, std::ios::trunc) << "not a png";
    };
    try {
        t->fit();
        FAIL("the bad image was not noticed");
    } catch (const Error& e) {
        const std::string m = e.message();
        INFO(m);
        CHECK_THAT(m, Contains("after iteration 6 (epoch 2"));
        CHECK_THAT(m, Contains("0001.png"));
        CHECK_THAT(m, Contains("iter_00000006.safetensors"));
    }
    CHECK(seg::latest_checkpoint(d / "run") == d / "run/checkpoints/iter_00000006.safetensors");
    t.reset();  // (it holds the run folder)
    // Fixed and resumed: the evaluation that failed is done first (here it is all that is left).
    std::ofstream(image, std::ios::trunc | std::ios::binary) << good;
    seg::Trainer resumed(test::parse(c), quiet("auto"));
    const seg::TrainResult r = resumed.fit();
    CHECK(r.iters == 6);
    CHECK(r.last_val.metrics.num_classes == 4);
    CHECK(csv_iters(d / "run/metrics.csv") == std::vector<int64_t>{3, 6});
    CHECK(nn::StateDict::load(r.last_checkpoint).get_i64("trainer.eval_pending", "test") == 0);
}

TEST_CASE("trainer: a validation that failed mid-run is redone first on resume, then training goes on") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    c["train"].erase("iters");
    c["train"]["epochs"] = 3;
    c["eval"]["interval"] = 1;  // after every epoch (3 iterations)
    const std::string image = d / "data/val/images/0002.png";
    std::string good;
    {
        seg::Trainer t(test::parse(c), quiet());
        t.after_step = [&](seg::Trainer& tr) {
            if (tr.iteration() != 4) return;
            good = slurp(image);
            std::ofstream(image, std::ios::trunc) << "not a png";
        };
        CHECK_THROWS_WITH(t.fit(), Contains("after iteration 6 (epoch 2") && Contains("0002.png"));
    }
    std::ofstream(image, std::ios::trunc | std::ios::binary) << good;
    seg::Trainer resumed(test::parse(c), quiet("auto"));
    CHECK(resumed.iteration() == 6);
    const seg::TrainResult r = resumed.fit();
    CHECK(r.iters == 9);
    CHECK(csv_iters(d / "run/metrics.csv") == std::vector<int64_t>{3, 6, 9});
    // The same numbers as a run that never failed.
    json clean = c;
    clean["checkpoint"]["dir"] = d / "clean";
    seg::Trainer u(test::parse(clean), quiet());
    const seg::TrainResult ru = u.fit();
    CHECK(ru.last_val.metrics.miou == r.last_val.metrics.miou);
    CHECK(ru.best_value == r.best_value);
    CHECK(csv_iters(d / "clean/metrics.csv") == std::vector<int64_t>{3, 6, 9});
}

TEST_CASE("trainer: a bad training image saves the last whole step; fixed and resumed, the run is bit-identical") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    // Two batches per step, and a model that draws from the generator in its forward pass: a step
    // that fails at its second batch must be rewound before it is saved.
    c["model"] = {{"name", "siamese_unet"}, {"base_width", 8}, {"depth", 2}, {"bilinear", true}};
    c["loss"]["consistency"] = {{"weight", 0.5}, {"strength", 0.3}};
    c["data"]["synth"]["train"] = 12;  // 4 batches of 3: 2 steps per epoch
    c["train"]["accumulate"] = 2;
    c["eval"]["interval"] = 0;  // checkpoints only at the end: the failure must save its own
    json a = c;
    a["checkpoint"]["dir"] = d / "A";
    json b = c;
    b["checkpoint"]["dir"] = d / "B";
    const std::string image = d / "data/train/images/0005.png";
    std::string good;
    {
        seg::Trainer t(test::parse(b), quiet());
        good = slurp(image);
        // At the end of epoch 1: epoch 2 reads every image again, the broken one among them.
        t.after_step = [&](seg::Trainer& tr) {
            if (tr.iteration() == 2) std::ofstream(image, std::ios::trunc) << "not a png";
        };
        try {
            t.fit();
            FAIL("the bad image was not noticed");
        } catch (const Error& e) {
            INFO(e.message());
            CHECK_THAT(e.message(), Contains("training iteration") && Contains("(epoch 2, step ") &&
                                        Contains("0005.png") && Contains("--resume auto"));
        }
    }
    const std::string saved = seg::latest_checkpoint(d / "B");
    REQUIRE_FALSE(saved.empty());  // the step before the one that failed
    std::ofstream(image, std::ios::trunc | std::ios::binary) << good;
    seg::Trainer resumed(test::parse(b), quiet("auto"));
    CHECK(resumed.iteration() >= 2);
    const seg::TrainResult rb = resumed.fit();
    seg::Trainer ta(test::parse(a), quiet());
    const seg::TrainResult ra = ta.fit();
    const nn::StateDict x = nn::StateDict::load(ra.last_checkpoint), y = nn::StateDict::load(rb.last_checkpoint);
    for (const auto& [k, t] : x.tensors) {
        INFO(k);
        REQUIRE(y.tensors.count(k));
        const Tensor p = t.contiguous().cpu(), q = y.tensors.at(k).contiguous().cpu();
        CHECK((p.nbytes() == q.nbytes() && std::memcmp(p.data_ptr(), q.data_ptr(), size_t(p.nbytes())) == 0));
    }
}

namespace {

// A full disk, as a file size limit: writes past `bytes` fail with EFBIG (SIGXFSZ ignored).
struct FileSizeLimit {
    rlimit old{};
    void (*old_handler)(int);
    explicit FileSizeLimit(rlim_t bytes) {
        old_handler = std::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &old);
        rlimit r = old;
        r.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &r);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, old_handler);
    }
};

}  // namespace

TEST_CASE("trainer: a log write that fails stops the run naming the file, and the last checkpoint stays intact") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    c["logging"]["interval"] = 1;  // a log.jsonl record after every step
    std::unique_ptr<FileSizeLimit> full;
    {
        seg::Trainer t(test::parse(c), quiet());
        t.after_step = [&](seg::Trainer& tr) {
            if (tr.iteration() == 4) full = std::make_unique<FileSizeLimit>(1);
        };
        try {
            t.fit();
            FAIL("the failed log write was not noticed");
        } catch (const Error& e) {
            full.reset();
            const std::string m = e.message();
            INFO(m);
            CHECK_THAT(m, Contains("log.jsonl"));
            CHECK_THAT(m, Contains("iter_00000003.safetensors, is intact"));
        }
        full.reset();
    }
    const std::string ck = seg::latest_checkpoint(d / "run");
    CHECK(ck == d / "run/checkpoints/iter_00000003.safetensors");
    seg::Trainer resumed(test::parse(c), quiet("auto"));
    CHECK(resumed.iteration() == 3);
}

TEST_CASE("trainer: a log file that cannot be written is an error naming it") {
    test::TempDir d;
    const json c = test::tiny_config(d.path());
    fs::create_directories(d / "run");
    SECTION("metrics.csv") { fs::create_symlink("/dev/full", d / "run/metrics.csv"); }
    SECTION("log.jsonl") { fs::create_symlink("/dev/full", d / "run/log.jsonl"); }
    try {
        seg::Trainer t(test::parse(c), quiet());
        t.fit();
        FAIL("writing to /dev/full was not noticed");
    } catch (const Error& e) {
        CHECK_THAT(e.message(), Contains("cannot write to") && Contains(d / "run/"));
    }
}

TEST_CASE("checkpoint.dir under a file is an error naming the key") {
    test::TempDir d;
    json c = test::tiny_config(d.path());
    append(d / "file", "x");
    c["checkpoint"]["dir"] = d / "file/run";
    CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet()), Contains("checkpoint.dir") && Contains("not a folder"));
    CHECK_THROWS_WITH(seg::Trainer(test::parse(c), quiet("", true)), Contains("checkpoint.dir"));
}
