// Self-describing model files (seg/models/model_file.h): the network is rebuilt from the file
// alone and gives the same logits; files without a spec, with a bad spec or truncated are errors
// naming the file.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/safetensors.h"
#include "nn/module.h"
#include "seg/models/model_file.h"
#include "seg/models/pretrained.h"
#include "seg/models/registry.h"
#include "tests/test_util.h"

using namespace segcore;
using json = nlohmann::json;

namespace {
std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("segcore_test_model_file_" + name)).string();
}
std::string error_of(const std::string& path) {
    try {
        seg::load_model_file(path);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no error";
}
}  // namespace

TEST_CASE("model file: rebuilds the model from the file alone, same logits, metadata kept", "[seg][models][io]") {
    const json spec = json::parse(R"({"name": "unet", "num_classes": 3, "in_channels": 2, "depth": 2, "base_width": 4})");
    auto m = seg::build_model(spec);
    m->eval();
    const std::string path = temp_path("ok.safetensors");
    seg::save_model_file(*m, spec, path, {{"classes", "[\"a\", \"b\", \"c\"]"}});
    const seg::LoadedModel lm = seg::load_model_file(path);
    lm.model->eval();
    CHECK(lm.spec == spec);
    CHECK(lm.metadata.at("classes") == "[\"a\", \"b\", \"c\"]");
    const autograd::Variable x(randn({1, 2, 13, 11}));
    REQUIRE_CLOSE(lm.model->forward(x).data(), m->forward(x).data(), (test::Tolerance{0, 0}));
    std::filesystem::remove(path);
}

TEST_CASE("model file: clear errors for a bare state dict, a bad spec and a truncated file", "[seg][models][io]") {
    const json spec = json::parse(R"({"name": "unet", "num_classes": 3, "depth": 1, "base_width": 4})");
    auto m = seg::build_model(spec);
    using Catch::Contains;

    const std::string bare = temp_path("bare.safetensors");
    nn::save_module(*m, bare);
    CHECK_THAT(error_of(bare), Contains(bare) && Contains("no \"model\" entry"));

    const std::string bad = temp_path("bad.safetensors");
    nn::save_module(*m, bad, {{"model", R"({"name": "unet", "num_classes": 3, "depht": 1})"}});
    CHECK_THAT(error_of(bad), Contains(bad) && Contains("model.depht: unknown key"));

    const std::string wrong = temp_path("wrong.safetensors");  // weights of another width
    seg::save_model_file(*m, json::parse(R"({"name": "unet", "num_classes": 3, "depth": 1, "base_width": 8})"), wrong);
    CHECK_THAT(error_of(wrong), Contains(wrong) && Contains("shape mismatch"));

    const std::string cut = temp_path("cut.safetensors");
    seg::save_model_file(*m, spec, cut);
    std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
    CHECK_THAT(error_of(cut), Contains(cut));
    for (const auto& p : {bare, bad, wrong, cut}) std::filesystem::remove(p);
}

TEST_CASE("pretrained: ImageNet backbone weights load under backbone., whole-model files as they are",
          "[seg][models][io]") {
    // Before: the trainer loaded model.pretrained by its own names only, so torchvision's ImageNet
    // weights (conv1.weight, layer1.0..., fc.*) "matched no parameter" of a model that has them
    // under backbone., unless the user guessed convert_pth.py --add-prefix backbone.
    const json spec = {{"name", "fcn"}, {"num_classes", 3}, {"backbone", "resnet18"}};
    manual_seed(3);
    auto source = seg::build_model(spec);
    std::vector<std::pair<std::string, Tensor>> imagenet;
    for (const auto& [name, t] : source->state_dict())
        if (name.rfind("backbone.", 0) == 0) imagenet.emplace_back(name.substr(9), t);
    imagenet.emplace_back("fc.weight", zeros({10, 512}));  // the classifier segmentation drops
    imagenet.emplace_back("fc.bias", zeros({10}));
    const std::string path = temp_path("imagenet_backbone.safetensors");
    save_safetensors(path, imagenet);

    manual_seed(4);
    auto model = seg::build_model(spec);
    const seg::PretrainedLoad pl = seg::load_pretrained(*model, path);
    CHECK(pl.prefix == "backbone.");
    CHECK(pl.report.loaded.size() == imagenet.size() - 2);
    CHECK(pl.report.unexpected == std::vector<std::string>{"backbone.fc.weight", "backbone.fc.bias"});
    const auto find = [](const nn::NamedTensors& state, const std::string& name) {
        for (const auto& [n, t] : state)
            if (n == name) return t;
        FAIL("no tensor " << name);
        return Tensor();
    };
    CHECK(test::compare(find(model->state_dict(), "backbone.layer2.0.conv1.weight"),
                        find(imagenet, "layer2.0.conv1.weight"), {0, 0})
              .empty());

    // A whole model's file loads by its own names.
    const std::string whole = temp_path("whole.safetensors");
    nn::save_module(*source, whole);
    const seg::PretrainedLoad same = seg::load_pretrained(*model, whole);
    CHECK(same.prefix.empty());
    CHECK(same.report.clean());

    // Nothing in common: an error naming the file and both sides' names.
    save_safetensors(path, {{"head.weight", zeros({2, 2})}});
    CHECK_THROWS_WITH(seg::load_pretrained(*model, path), Catch::Contains("imagenet_backbone.safetensors") &&
                                                              Catch::Contains("head.weight") &&
                                                              Catch::Contains("backbone.conv1.weight"));
    std::filesystem::remove(path);
    std::filesystem::remove(whole);
}

TEST_CASE("model file: non-finite weights, integer weights and a hostile spec are errors", "[seg][models][io]") {
    using Catch::Contains;
    const json spec = json::parse(R"({"name": "unet", "num_classes": 3, "depth": 1, "base_width": 4})");
    auto m = seg::build_model(spec);
    const auto save_with = [&](const std::string& name, const std::string& key, const Tensor& value,
                               std::map<std::string, std::string> md) {
        nn::NamedTensors sd = m->state_dict();
        bool found = false;
        for (auto& [n, t] : sd)
            if (n == key) t = value, found = true;
        REQUIRE(found);
        const std::string path = temp_path(name);
        save_safetensors(path, sd, md);
        return path;
    };
    const std::map<std::string, std::string> md = {{"model", spec.dump()}, {"format", "segcore-model-1"}};
    const std::string first = m->state_dict().front().first;
    const Shape shape = m->state_dict().front().second.shape();

    // A NaN: refused naming the file and the tensor, loaded when explicitly allowed.
    Tensor w = m->state_dict().front().second.clone();
    w.fill_(NAN);
    const std::string nan = save_with("nan.safetensors", first, w, md);
    CHECK_THAT(error_of(nan), Contains(nan) && Contains("tensor '" + first + "'") && Contains("= nan") &&
                                  Contains("--allow-nonfinite"));
    const seg::LoadedModel lm = seg::load_model_file(nan, /*allow_nonfinite=*/true);
    CHECK(std::isnan(lm.model->state_dict().front().second.get_double(0)));

    // Integer data in a float weight is not cast silently.
    const std::string ints = save_with("ints.safetensors", first, zeros(shape, DType::I32), md);
    CHECK_THAT(error_of(ints), Contains(ints) && Contains("dtype mismatch for " + first) && Contains("i32"));

    // A spec nested 100k levels deep or with a repeated key: clean errors naming the file.
    std::string deep = R"({"name": "unet", "x": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
    std::map<std::string, std::string> bad_md = md;
    bad_md["model"] = deep;
    const std::string deep_path = save_with("deep.safetensors", first, m->state_dict().front().second, bad_md);
    CHECK_THAT(error_of(deep_path), Contains(deep_path) && Contains("metadata \"model\"") && Contains("nested deeper"));
    bad_md["model"] = R"({"name": "unet", "num_classes": 3, "depth": 1, "base_width": 4, "depth": 2})";
    const std::string dup = save_with("dup.safetensors", first, m->state_dict().front().second, bad_md);
    CHECK_THAT(error_of(dup), Contains(dup) && Contains("duplicate key 'depth'"));
    for (const auto& p : {nan, ints, deep_path, dup}) std::filesystem::remove(p);
}
