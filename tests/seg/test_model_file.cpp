// Self-describing model files (seg/models/model_file.h): the network is rebuilt from the file
// alone and gives the same logits; files without a spec, with a bad spec or truncated are errors
// naming the file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/safetensors.h"
#include "nn/module.h"
#include "seg/models/model_file.h"
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
