// Training configs: "base" includes, --set overrides, the hash, and strict validation whose errors
// name the JSON path.
#include <catch2/catch.hpp>

#include <fstream>

#include "core/error.h"
#include "seg/train/config_file.h"
#include "train_test_util.h"

using namespace segcore;
using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

void write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text;
}

// parse_train_config's error for `j` (empty when it parses).
std::string config_error(const json& j) {
    try {
        test::parse(j);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("config: bases merge in order, objects key by key, the file on top") {
    test::TempDir d;
    write(d / "base/common.json", R"({"train": {"batch_size": 8, "seed": 1}, "loss": {"terms": [{"type": "dice"}]},
                                      "data": {"dataset": "../datasets/x.json", "root": "${X_ROOT}"}})");
    write(d / "base/model.json", R"({"base": "common.json", "model": {"name": "unet", "depth": 3}, "train": {"seed": 2}})");
    write(d / "exp.json", R"({"base": ["base/model.json"], // comments are allowed
                              "model": {"depth": 2}, "train": {"epochs": 4}})");
    const json c = seg::load_config_file(d / "exp.json");
    CHECK(c["model"] == json({{"name", "unet"}, {"depth", 2}}));
    CHECK(c["train"] == json({{"batch_size", 8}, {"seed", 2}, {"epochs", 4}}));
    CHECK(c["loss"]["terms"][0]["type"] == "dice");
    CHECK_FALSE(c.contains("base"));
    // Paths are relative to the file that writes them; environment variables stay for later.
    CHECK(c["data"]["dataset"] == d / "datasets/x.json");
    CHECK(c["data"]["root"] == "${X_ROOT}");
}

TEST_CASE("config: base cycles, missing bases and bad JSON are errors naming the files") {
    test::TempDir d;
    write(d / "a.json", R"({"base": "b.json"})");
    write(d / "b.json", R"({"base": "a.json"})");
    CHECK_THROWS_WITH(seg::load_config_file(d / "a.json"), Contains("cycle") && Contains("b.json"));
    write(d / "c.json", R"({"base": "nope.json"})");
    CHECK_THROWS_WITH(seg::load_config_file(d / "c.json"), Contains("nope.json") && Contains("no such file"));
    write(d / "bad.json", R"({"train": {"epochs": 3,}})");
    CHECK_THROWS_WITH(seg::load_config_file(d / "bad.json"), Contains("bad.json") && Contains("not valid JSON"));
    CHECK_THROWS_WITH(seg::load_config_file(d / "missing.json"), Contains("missing.json") && Contains("no such file"));
}

TEST_CASE("config: --set overrides parse JSON values, create paths and refuse non-objects") {
    json c = {{"train", {{"batch_size", 8}}}, {"model", {{"name", "unet"}}}};
    seg::apply_config_override(c, "train.batch_size=4");
    seg::apply_config_override(c, "model.name=enet");  // unquoted string
    seg::apply_config_override(c, "eval.scales=[0.5,1.0]");
    seg::apply_config_override(c, "eval.flip=true");
    CHECK(c["train"]["batch_size"] == 4);
    CHECK(c["model"]["name"] == "enet");
    CHECK(c["eval"]["scales"] == json({0.5, 1.0}));
    CHECK(c["eval"]["flip"] == true);
    CHECK_THROWS_WITH(seg::apply_config_override(c, "train.batch_size.x=1"), Contains("train.batch_size is number"));
    CHECK_THROWS_WITH(seg::apply_config_override(c, "novalue"), Contains("key.path=value"));
}

TEST_CASE("config: the hash names the resolved settings") {
    json a = {{"train", {{"epochs", 2}, {"batch_size", 4}}}};
    json b = json::parse(R"({"train": {"batch_size": 4, "epochs": 2}})");
    CHECK(seg::config_hash(a) == seg::config_hash(b));
    CHECK(seg::config_hash(a).size() == 16);
    b["train"]["epochs"] = 3;
    CHECK(seg::config_hash(a) != seg::config_hash(b));
}

TEST_CASE("config: a valid config parses with the documented defaults") {
    test::TempDir d;
    const seg::TrainConfig c = test::parse(test::tiny_config(d.path()));
    CHECK(c.name == "tiny");
    CHECK(c.optimizer.type == "adamw");
    CHECK(c.optimizer.weight_decay == 0.01);  // AdamW's default
    CHECK(c.train.iters == 6);
    CHECK(c.train.amp == "off");
    CHECK(c.train.accumulate == 1);
    CHECK(c.checkpoint.best_metric == "miou");
    CHECK(c.loss.aux_weight == 0.4);
    CHECK(c.loss.combined["terms"] == json::array({{{"type", "cross_entropy"}}}));
    CHECK(c.scheduler.warmup.iters == 2);
    CHECK(c.scheduler.warmup.kind == nn::WarmupKind::Linear);
}

TEST_CASE("config: unknown keys, wrong types and missing files are errors naming the JSON path") {
    test::TempDir d;
    const json ok = test::tiny_config(d.path());
    auto with = [&](const std::string& assignment) {
        json j = ok;
        seg::apply_config_override(j, assignment);
        return config_error(j);
    };
    CHECK(config_error(ok).empty());
    CHECK_THAT(with("train.batch_sise=4"), Contains("train.batch_sise") && Contains("unknown key") &&
                                               Contains("batch_size"));
    CHECK_THAT(with("train.batch_size=\"four\""), Contains("train.batch_size") && Contains("integer"));
    CHECK_THAT(with("optimizer.type=lion"), Contains("optimizer.type") && Contains("adamw"));
    CHECK_THAT(with("eval.crop=[64]"), Contains("eval.crop"));
    CHECK_THAT(with("loss.terms=[{\"type\":\"dice\",\"smoth\":1}]"), Contains("loss.terms[0]") && Contains("smoth"));
    CHECK_THAT(with("scheduler.warmup.iter=5"), Contains("scheduler.warmup.iter"));
    CHECK_THAT(with("data.train_transforms=[{\"type\":\"hflip\",\"q\":1}]"), Contains("data.train_transforms[0].q"));
    CHECK_THAT(with("checkpoint.best_metric=loss"), Contains("checkpoint.best_metric") && Contains("miou"));
    CHECK_THAT(with("train.epochs=2"), Contains("exactly one of \"epochs\" and \"iters\""));
    CHECK_THAT(with("optimizer.groups=[{\"match\":\"(\"}]"), Contains("optimizer.groups[0].match"));
    CHECK_THAT(with("loss.teacher=\"/nonexistent/teacher.safetensors\""), Contains("loss.teacher"));
    CHECK_THAT(with("extra_section={}"), Contains("extra_section") && Contains("unknown key"));
    json no_data = ok;
    no_data["data"].erase("synth");
    no_data["data"]["dataset"] = d / "nowhere/dataset.json";
    CHECK_THAT(config_error(no_data), Contains("data.dataset") && Contains("nowhere/dataset.json") &&
                                          Contains("no such file"));
    json no_model = ok;
    no_model.erase("model");
    CHECK_THAT(config_error(no_model), Contains("model: required"));
}

TEST_CASE("config: data.root expands environment variables and names a missing one") {
    test::TempDir d;
    json j = test::tiny_config(d.path());
    j["data"]["root"] = "${SEGCORE_TEST_SURELY_UNSET_VAR}/camvid";
    CHECK_THAT(config_error(j), Contains("SEGCORE_TEST_SURELY_UNSET_VAR") && Contains("data.root"));
    ::setenv("SEGCORE_TEST_ROOT_VAR", "/datasets", 1);
    j["data"]["root"] = "${SEGCORE_TEST_ROOT_VAR}/camvid";
    CHECK(test::parse(j).data.root == "/datasets/camvid");
}
