// Format readers on tiny fake trees (voc, cityscapes, ade20k, folder with list files, colour and
// binary masks) and the real CamVid and ISBI copies under $SEGCORE_SHARED/datasets.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "data/dataset.h"
#include "data/file_util.h"
#include "data/image_io.h"
#include "data/label_map.h"
#include "data_test_util.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::data;
using segcore::test::TempDir;

namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
    test::write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

DatasetSpec spec_from(const TempDir& dir, const std::string& json) {
    write_text(dir / "spec.json", json);
    return load_dataset_spec(dir / "spec.json");
}

Mask constant_mask(int64_t h, int64_t w, const std::vector<int32_t>& values) {
    Mask m;
    m.height = h;
    m.width = w;
    for (int64_t i = 0; i < h * w; ++i) m.labels.push_back(values[size_t(i) % values.size()]);
    return m;
}

std::string repo_dir() { return test::source_dir(); }

}  // namespace

TEST_CASE("datasets: voc reads list files of ids and palette PNG masks as indices", "[data][datasets]") {
    TempDir dir;
    const std::string root = dir / "VOCdevkit/VOC2012";
    for (const char* id : {"2007_000032", "2007_000039", "2008_000123"}) {
        write_jpeg(dir.file(std::string("VOCdevkit/VOC2012/JPEGImages/") + id + ".jpg"), test::pattern_image(6, 8, 3));
        write_palette_png(dir.file(std::string("VOCdevkit/VOC2012/SegmentationClass/") + id + ".png"),
                          constant_mask(6, 8, {0, 15, 255, 20}), {{0, 0, 0}, {128, 0, 0}});
    }
    write_text(dir.file("VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt"), "2007_000032\n2007_000039\n");
    write_text(dir.file("VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt"), "2008_000123\r\n\r\n");
    const DatasetSpec spec = spec_from(dir, R"({"name": "voc", "format": "voc", "root": "VOCdevkit/VOC2012"})");
    const auto train = open_dataset(spec, "train");
    REQUIRE(train->size() == 2);
    CHECK(open_dataset(spec, "val")->size() == 1);
    const Sample s = train->get(1);
    CHECK(s.id == "2007_000039");
    CHECK(s.image_path == root + "/JPEGImages/2007_000039.jpg");
    CHECK(s.image.channels == 3);
    CHECK(s.image.height == 6);
    CHECK(s.image.width == 8);
    CHECK(s.mask.labels == constant_mask(6, 8, {0, 15, 255, 20}).labels);  // indices, 255 kept as ignore
    // Image values are the decoded bytes, as floats on the 0-255 scale.
    const Image raw = read_image(s.image_path);
    for (size_t i = 0; i < raw.pixels.size(); ++i) REQUIRE(s.image.pixels[i] == float(raw.pixels[i]));
    // trainval is listed in the preset but missing here.
    CHECK_THROWS_WITH(open_dataset(spec, "trainval"), Catch::Contains("trainval.txt"));
}

TEST_CASE("datasets: cityscapes pairs cities recursively and maps labelIds to trainIds", "[data][datasets]") {
    TempDir dir;
    const std::vector<std::string> ids = {"aachen/aachen_000000_000019", "aachen/aachen_000001_000019",
                                          "bochum/bochum_000000_000313"};
    for (const auto& id : ids) {
        write_png(dir.file("cs/leftImg8bit/train/" + id + "_leftImg8bit.png"), test::pattern_image(4, 8, 3));
        write_index_png(dir.file("cs/gtFine/train/" + id + "_gtFine_labelIds.png"),
                        constant_mask(4, 8, {7, 8, 26, 0, 33, 6, 24, 255}));
        // gtFine ships other files next to the labelIds: they must be ignored.
        write_index_png(dir.file("cs/gtFine/train/" + id + "_gtFine_instanceIds.png"), constant_mask(4, 8, {1}));
    }
    const DatasetSpec spec = spec_from(dir, R"({"name": "cs", "format": "cityscapes", "root": "cs"})");
    const auto ds = open_dataset(spec, "train");
    REQUIRE(ds->size() == 3);
    const Sample s = ds->get(2);
    CHECK(s.id == ids[2]);
    CHECK(s.mask_path == dir / "cs/gtFine/train/bochum/bochum_000000_000313_gtFine_labelIds.png");
    CHECK(s.mask.labels == constant_mask(4, 8, {0, 1, 13, 255, 18, 255, 11, 255}).labels);
}

TEST_CASE("datasets: ade20k reduces the zero label", "[data][datasets]") {
    TempDir dir;
    write_jpeg(dir.file("ADEChallengeData2016/images/validation/ADE_val_00000001.jpg"), test::pattern_image(5, 5, 3));
    write_index_png(dir.file("ADEChallengeData2016/annotations/validation/ADE_val_00000001.png"),
                    constant_mask(5, 5, {0, 1, 2, 150}));
    const DatasetSpec spec = spec_from(dir, R"({"name": "ade", "format": "ade20k", "root": "ADEChallengeData2016"})");
    const auto ds = open_dataset(spec, "val");
    REQUIRE(ds->size() == 1);
    const Sample s = ds->get(0);
    CHECK(s.id == "ADE_val_00000001");
    CHECK(s.mask.labels == constant_mask(5, 5, {255, 0, 1, 149}).labels);
    // 151 would be class 150: out of range.
    write_index_png(dir.file("ADEChallengeData2016/annotations/validation/ADE_val_00000001.png"),
                    constant_mask(5, 5, {151}));
    CHECK_THROWS_WITH(ds->get(0), Catch::Contains("value 151 (maps to 150) x 25 pixels"));
}

TEST_CASE("datasets: folder format with list files, suffixes, ids and unlabelled images", "[data][datasets]") {
    TempDir dir;
    for (const char* id : {"b", "a", "c"}) {
        write_png(dir.file(std::string("ds/img/") + id + ".png"), test::pattern_image(3, 4, 1));
        write_index_png(dir.file(std::string("ds/ann/") + id + "_mask.png"), constant_mask(3, 4, {1, 2, 0}));
    }
    write_text(dir.file("ds/lists/two.txt"), "# comment\nimg/c.png ann/c_mask.png\n\nimg/a.png   ann/a_mask.png\n");
    write_text(dir.file("ds/lists/ids.txt"), "b\nc.png\n");
    write_text(dir.file("ds/lists/bad.txt"), "a b c\n");
    const DatasetSpec spec = spec_from(dir, R"({
        "name": "f", "root": "ds", "classes": ["x", "y", "z"], "image_channels": 1,
        "splits": {
            "scan": {"images": "img", "masks": "ann", "mask_suffix": "_mask.png"},
            "pairs": {"list": "lists/two.txt"},
            "ids": {"images": "img", "masks": "ann", "mask_suffix": "_mask.png", "list": "lists/ids.txt"},
            "inline": {"images": "img", "masks": "ann", "mask_suffix": "_mask.png", "ids": ["c"]},
            "bad": {"images": "img", "list": "lists/bad.txt"},
            "unlabelled": {"images": "img"}
        }})");
    const auto scan = open_dataset(spec, "scan");
    REQUIRE(scan->size() == 3);
    CHECK(scan->get(0).id == "a");  // sorted
    CHECK(scan->get(2).id == "c");
    CHECK(scan->get(0).image.channels == 1);
    const auto pairs = open_dataset(spec, "pairs");
    REQUIRE(pairs->size() == 2);
    CHECK(pairs->get(0).id == "c");  // list order
    CHECK(pairs->get(1).mask_path == dir / "ds/ann/a_mask.png");
    CHECK(pairs->get(1).mask.labels == constant_mask(3, 4, {1, 2, 0}).labels);
    const auto ids = open_dataset(spec, "ids");
    REQUIRE(ids->size() == 2);
    CHECK(ids->get(1).id == "c");
    CHECK(ids->get(1).image_path == dir / "ds/img/c.png");  // extension found on disk
    CHECK(open_dataset(spec, "inline")->size() == 1);
    CHECK_THROWS_WITH(open_dataset(spec, "bad"), Catch::Contains("bad.txt' line 1") && Catch::Contains("3 fields"));
    const auto unlabelled = open_dataset(spec, "unlabelled");
    CHECK(unlabelled->get(0).mask.labels.empty());
    CHECK(unlabelled->get(0).mask_path.empty());
}

TEST_CASE("datasets: colour masks through the palette, and binary masks", "[data][datasets]") {
    TempDir dir;
    // Colour mask: red = class 0, green = class 1, white = ignore (ignore_color).
    Image rgb;
    rgb.height = 2;
    rgb.width = 3;
    rgb.channels = 3;
    rgb.pixels = {255, 0, 0, 0, 255, 0, 255, 255, 255, 0, 255, 0, 255, 0, 0, 255, 0, 0};
    write_png(dir.file("c/images/x.png"), test::pattern_image(2, 3, 3));
    write_png(dir.file("c/masks/x.png"), rgb);
    const DatasetSpec spec = spec_from(dir, R"({"name": "c", "root": "c", "classes": ["red", "green"],
        "palette": [[255, 0, 0], [0, 255, 0]], "mask_encoding": "rgb", "ignore_color": [255, 255, 255],
        "splits": {"all": {"images": "images", "masks": "masks"}}})");
    CHECK(open_dataset(spec, "all")->get(0).mask.labels == std::vector<int32_t>{0, 1, 255, 1, 0, 0});
    rgb.pixels[0] = 1;  // a colour outside the palette
    write_png(dir.file("c/masks/x.png"), rgb);
    CHECK_THROWS_WITH(open_dataset(spec, "all")->get(0),
                      Catch::Contains(dir / "c/masks/x.png") && Catch::Contains("(1,0,0)"));

    // Binary: 0 -> 0, 255 -> 1, anything else is an error.
    write_png(dir.file("b/images/y.png"), test::pattern_image(1, 4, 1));
    write_index_png(dir.file("b/masks/y.png"), constant_mask(1, 4, {0, 255, 255, 0}));
    const DatasetSpec bin =
        spec_from(dir, R"({"name": "b", "root": "b", "classes": ["off", "on"], "mask_encoding": "binary",
        "splits": {"all": {"images": "images", "masks": "masks"}}})");
    CHECK(open_dataset(bin, "all")->get(0).mask.labels == std::vector<int32_t>{0, 1, 1, 0});
    write_index_png(dir.file("b/masks/y.png"), constant_mask(1, 4, {0, 128, 255, 0}));
    CHECK_THROWS_WITH(open_dataset(bin, "all")->get(0),
                      Catch::Contains("value 128 (not 0, 1 or 255 in a binary mask)"));
}

TEST_CASE("datasets: the real CamVid copy (SegNet split)", "[data][datasets][shared]") {
    DatasetSpec spec = load_dataset_spec(repo_dir() + "/configs/datasets/camvid.json");
    spec.root = test::shared_dir() + "/datasets/camvid";
    if (!fs::exists(spec.root)) {
        WARN("skipped: " << spec.root << " does not exist");
        return;
    }
    const auto train = open_dataset(spec, "train"), val = open_dataset(spec, "val");
    CHECK(train->size() == 367);
    CHECK(val->size() == 101);
    for (int64_t i : {int64_t(0), int64_t(100), train->size() - 1}) {
        const Sample s = train->get(i);
        INFO(s.image_path);
        CHECK(s.image.height == 360);
        CHECK(s.image.width == 480);
        CHECK(s.image.channels == 3);
        CHECK(s.mask.height == 360);
        CHECK(s.mask.width == 480);
        for (int32_t v : s.mask.labels) REQUIRE(((v >= 0 && v < 11) || v == 11));
    }
    CHECK(val->get(0).id == "0016E5_07959");
    // The JPEG copy pairs the same way.
    spec.root = test::shared_dir() + "/datasets/camvid-jpg";
    if (fs::exists(spec.root)) {
        const auto jpg = open_dataset(spec, "val");
        CHECK(jpg->size() == 101);
        CHECK(jpg->get(5).image.width == 480);
    }
}

TEST_CASE("datasets: the real ISBI 2012 membrane volume", "[data][datasets][shared]") {
    DatasetSpec spec = load_dataset_spec(repo_dir() + "/configs/datasets/isbi.json");
    spec.root = test::shared_dir() + "/datasets/isbi-membrane";
    if (!fs::exists(spec.root)) {
        WARN("skipped: " << spec.root << " does not exist");
        return;
    }
    const auto train = open_dataset(spec, "train"), val = open_dataset(spec, "val");
    CHECK(train->size() == 25);
    CHECK(val->size() == 5);
    const Sample s = val->get(0);
    CHECK(s.id == "25");
    CHECK(s.image.height == 512);
    CHECK(s.image.width == 512);
    CHECK(s.image.channels == 3);  // grey replicated
    int64_t membrane = 0;
    for (int32_t v : s.mask.labels) {
        REQUIRE((v == 0 || v == 1));
        membrane += v == 0;
    }
    const double share = double(membrane) / double(s.mask.labels.size());
    CHECK(share > 0.1);  // about 22% membrane
    CHECK(share < 0.35);
}

TEST_CASE("datasets: get is thread-safe and deterministic", "[data][datasets]") {
    TempDir dir;
    for (int i = 0; i < 12; ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "%02d", i);
        write_png(dir.file(std::string("t/images/") + name + ".png"), test::pattern_image(9 + i, 7, 3));
        write_palette_png(dir.file(std::string("t/masks/") + name + ".png"), constant_mask(9 + i, 7, {i % 3, 1, 255}),
                          {{1, 1, 1}});
    }
    const DatasetSpec spec = spec_from(dir, R"({"name": "t", "root": "t", "classes": ["a", "b", "c"],
        "splits": {"all": {"images": "images", "masks": "masks"}}})");
    const auto ds = open_dataset(spec, "all");
    REQUIRE(ds->size() == 12);
    std::vector<Sample> serial;
    for (int64_t i = 0; i < ds->size(); ++i) serial.push_back(ds->get(i));
    std::vector<std::vector<Sample>> got(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int rep = 0; rep < 5; ++rep)
                for (int64_t i = 0; i < ds->size(); ++i) got[size_t(t)].push_back(ds->get((i + t) % ds->size()));
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) {
        for (size_t k = 0; k < got[size_t(t)].size(); ++k) {
            const Sample& a = got[size_t(t)][k];
            const Sample& b = serial[size_t((int64_t(k) % ds->size() + t) % ds->size())];
            REQUIRE(a.id == b.id);
            REQUIRE(a.image.pixels == b.image.pixels);
            REQUIRE(a.mask.labels == b.mask.labels);
        }
    }
}

TEST_CASE("datasets: list_folder_files lists unresolvable entries and walks each folder once", "[data][datasets]") {
    test::TempDir dir;
    write_png(dir.file("top/x.png"), test::pattern_image(2, 2, 3));
    write_png(dir.file("top/deep/y.png"), test::pattern_image(2, 2, 3));
    std::filesystem::create_symlink(dir / "top/none", dir / "top/dangling.png");
    std::filesystem::create_directory_symlink(dir / "top", dir / "top/deep/again");  // back to the top
    std::filesystem::create_directory_symlink(dir / "top/deep", dir / "top/alias");  // a second way in
    using V = std::vector<std::string>;
    CHECK(list_folder_files(dir / "top", false) == V{"dangling.png", "x.png"});
    // Names are visited in sorted order, so of two ways into one folder the first name wins.
    CHECK(list_folder_files(dir / "top", true) == V{"alias/y.png", "dangling.png", "x.png"});
    CHECK_THROWS_WITH(list_folder_files(dir / "top/x.png", false), Catch::Contains("is not a folder"));
}
