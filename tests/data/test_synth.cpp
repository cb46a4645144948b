// The procedural dataset: deterministic, labels in range, every class present, and written files
// that open_dataset reads back exactly.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <filesystem>
#include <set>

#include "data/dataset.h"
#include "data/loader.h"
#include "data/synth.h"

using namespace segcore;
using namespace segcore::data;

namespace {
struct TempDir {
    std::filesystem::path path;
    TempDir() : path(std::filesystem::temp_directory_path() / ("segcore_test_synth_" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};
}  // namespace

TEST_CASE("synth: scenes are deterministic for a seed", "[data][synth]") {
    SynthOptions o;
    o.height = 40;
    o.width = 56;
    const SynthScene a = synth_scene(o, 0, 3), b = synth_scene(o, 0, 3);
    REQUIRE(a.image.pixels == b.image.pixels);
    REQUIRE(a.mask.labels == b.mask.labels);
    REQUIRE(a.image.height == 40);
    REQUIRE(a.image.width == 56);
    REQUIRE(a.image.channels == 3);
    REQUIRE(synth_scene(o, 0, 4).mask.labels != a.mask.labels);
    REQUIRE(synth_scene(o, 1, 3).mask.labels != a.mask.labels);  // val differs from train
    o.seed = 1;
    REQUIRE(synth_scene(o, 0, 3).image.pixels != a.image.pixels);
}

TEST_CASE("synth: labels are in range and every class appears", "[data][synth]") {
    for (int64_t classes : {3, 6, 10}) {
        SynthOptions o;
        o.classes = classes;
        o.height = 48;
        o.width = 64;
        std::set<int32_t> seen;
        for (int64_t i = 0; i < classes - 2; ++i) {
            const SynthScene s = synth_scene(o, 0, i);
            const std::set<int32_t> here(s.mask.labels.begin(), s.mask.labels.end());
            for (int32_t l : here) REQUIRE((l >= 0 && l < classes));
            REQUIRE(here.count(int32_t(2 + i % (classes - 2))));  // this scene's guaranteed shape
            seen.insert(here.begin(), here.end());
        }
        REQUIRE(int64_t(seen.size()) == classes);
    }
    REQUIRE(synth_class_names(6) ==
            std::vector<std::string>{"field", "wall", "circle", "rectangle", "triangle", "star"});
    REQUIRE(synth_palette(10).size() == 10);
    SynthOptions bad;
    bad.classes = 11;
    REQUIRE_THROWS_WITH(synth_scene(bad, 0, 0), Catch::Contains("classes must be in [3, 10]"));
}

TEST_CASE("synth: written files open as a dataset and read back exactly", "[data][synth]") {
    TempDir dir;
    SynthOptions o;
    o.train = 6;
    o.val = 3;
    o.height = 32;
    o.width = 48;
    o.seed = 9;
    write_synth_dataset(dir.path.string(), o);
    const DatasetSpec spec = load_dataset_spec((dir.path / "dataset.json").string());
    REQUIRE(spec.classes == synth_class_names(6));
    REQUIRE(spec.ignore_index == 255);
    auto train = open_dataset(spec, "train");
    auto val = open_dataset(spec, "val");
    REQUIRE(train->size() == 6);
    REQUIRE(val->size() == 3);
    for (int64_t i = 0; i < 6; ++i) {
        const Sample s = train->get(i);
        const SynthScene ref = synth_scene(o, 0, std::stoll(s.id));
        REQUIRE(s.mask.labels == ref.mask.labels);
        REQUIRE(s.image.pixels.size() == ref.image.pixels.size());
        for (size_t k = 0; k < ref.image.pixels.size(); ++k) REQUIRE(s.image.pixels[k] == float(ref.image.pixels[k]));
    }

    // And it feeds the loader with the standard augmentation.
    LoaderOptions lo;
    lo.batch_size = 4;
    lo.num_workers = 2;
    Loader loader(train, standard_train_transforms(24, 24), lo);
    Batch b;
    REQUIRE(loader.next(b));
    REQUIRE(b.images.shape() == Shape{4, 3, 24, 24});
    REQUIRE(b.labels.shape() == Shape{4, 24, 24});
}

TEST_CASE("synth: a corrupt file on disk is reported by the loader with its path", "[data][synth][loader]") {
    TempDir dir;
    SynthOptions o;
    o.train = 6;
    o.val = 0;
    o.height = 16;
    o.width = 16;
    write_synth_dataset(dir.path.string(), o);
    const auto bad = dir.path / "train" / "images" / "0003.png";
    std::filesystem::resize_file(bad, 40);  // truncated
    auto train = open_dataset(load_dataset_spec((dir.path / "dataset.json").string()), "train");
    LoaderOptions lo;
    lo.batch_size = 2;
    lo.shuffle = false;
    lo.num_workers = 2;
    Loader loader(train, Compose{}, lo);
    Batch b;
    REQUIRE(loader.next(b));
    REQUIRE_THROWS_WITH(loader.next(b), Catch::Contains("0003.png") && Catch::Contains("batch 1"));
    REQUIRE(loader.next(b));
    REQUIRE_FALSE(loader.next(b));

    lo.skip_bad_samples = true;
    Loader skipping(train, Compose{}, lo);
    int64_t seen = 0;
    while (skipping.next(b)) seen += b.size();
    REQUIRE(seen == 5);
    REQUIRE(skipping.skipped_samples() == 1);
    REQUIRE_THAT(skipping.skip_messages()[0], Catch::Contains("0003.png"));
}
