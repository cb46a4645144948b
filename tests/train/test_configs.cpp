// Every shipped config in configs/ resolves, validates and builds its model (so a recipe never
// rots into an error the user meets first). Datasets that need the user's data get a stand-in
// root through their environment variable.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "data/dataset_spec.h"
#include "seg/models/registry.h"
#include "seg/train/config_file.h"
#include "seg/train/train_config.h"
#include "tests/test_util.h"

using namespace segcore;
namespace fs = std::filesystem;

TEST_CASE("configs: every shipped training config parses and builds its model") {
    const fs::path dir = fs::path(test::source_dir()) / "configs";
    for (const char* var : {"CITYSCAPES_ROOT", "VOC_ROOT", "ADE20K_ROOT"}) ::setenv(var, "/nonexistent/dataset", 0);
    int checked = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() != ".json") continue;
        INFO(e.path().string());
        const nlohmann::json doc = seg::load_config_file(e.path().string());
        const seg::TrainConfig c = seg::parse_train_config(doc, dir.string(), e.path().stem().string());
        CHECK(c.name == e.path().stem().string());  // the run is named after its file
        nlohmann::json spec = c.model;
        const int64_t classes = c.data.synth ? c.data.synth->classes : data::load_dataset_spec(c.data.dataset).num_classes();
        spec["num_classes"] = classes;
        CHECK(seg::build_model(spec)->num_classes() == classes);
        ++checked;
    }
    CHECK(checked >= 9);
}
