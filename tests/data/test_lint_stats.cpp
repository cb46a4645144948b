// Lint finds problems planted in a temporary dataset; stats and class weights match hand-computed
// values.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "data/dataset.h"
#include "data/dataset_spec.h"
#include "data/image_io.h"
#include "data/lint.h"
#include "data/stats.h"
#include "data_test_util.h"

using namespace segcore;
using namespace segcore::data;
using segcore::test::TempDir;

namespace {

const LintIssue* find_issue(const LintReport& r, const std::string& kind, const std::string& text = "") {
    for (const auto& i : r.issues)
        if (i.kind == kind && i.message.find(text) != std::string::npos) return &i;
    return nullptr;
}

Mask mask_of(int64_t h, int64_t w, const std::vector<int32_t>& values) {
    Mask m;
    m.height = h;
    m.width = w;
    for (int64_t i = 0; i < h * w; ++i) m.labels.push_back(values[size_t(i) % values.size()]);
    return m;
}

DatasetSpec folder_spec(const TempDir& dir, int classes) {
    DatasetSpec s;
    s.name = "planted";
    s.root = dir / "ds";
    for (int k = 0; k < classes; ++k) s.classes.push_back("class" + std::to_string(k));
    s.splits["train"].images = "images";
    s.splits["train"].masks = "masks";
    return s;
}

}  // namespace

TEST_CASE("lint: a clean dataset has no errors", "[data][lint]") {
    TempDir dir;
    for (const char* id : {"a", "b"}) {
        write_png(dir.file(std::string("ds/images/") + id + ".png"), test::pattern_image(8, 8, 3));
        write_index_png(dir.file(std::string("ds/masks/") + id + ".png"), mask_of(8, 8, {0, 1, 2, 255}));
    }
    const LintReport r = lint_split(folder_spec(dir, 3), "train");
    INFO(r.to_text());
    CHECK(r.samples == 2);
    CHECK(r.errors() == 0);
    CHECK(r.warnings() == 0);
    CHECK(r.mask_kinds.at("8-bit grey PNG") == 2);
    CHECK(r.class_pixels == std::vector<int64_t>{32, 32, 32});
    CHECK(r.ignored_pixels == 32);
}

TEST_CASE("lint: finds planted problems", "[data][lint]") {
    TempDir dir;
    const Image img = test::pattern_image(8, 8, 3);
    // ok: a good pair
    write_png(dir.file("ds/images/ok.png"), img);
    write_index_png(dir.file("ds/masks/ok.png"), mask_of(8, 8, {0, 1}));
    // nomask: an image without its mask
    write_png(dir.file("ds/images/nomask.png"), img);
    // size: the mask is 8x7
    write_png(dir.file("ds/images/size.png"), img);
    write_index_png(dir.file("ds/masks/size.png"), mask_of(7, 8, {0}));
    // labels: value 9 in two files, value 40 in one
    write_png(dir.file("ds/images/labels1.png"), img);
    write_index_png(dir.file("ds/masks/labels1.png"), mask_of(8, 8, {0, 9}));
    write_png(dir.file("ds/images/labels2.png"), img);
    write_index_png(dir.file("ds/masks/labels2.png"), mask_of(8, 8, {1, 9, 40, 1}));
    // colour: an RGB mask where index masks are expected
    write_png(dir.file("ds/images/colour.png"), img);
    write_png(dir.file("ds/masks/colour.png"), img);
    // broken: a truncated image
    write_png(dir.file("ds/images/broken.png"), img);
    auto bytes = test::file_bytes(dir / "ds/images/broken.png");
    bytes.resize(bytes.size() / 2);
    test::write_bytes(dir / "ds/images/broken.png", bytes);
    write_index_png(dir.file("ds/masks/broken.png"), mask_of(8, 8, {0}));
    // orphan: a mask without an image
    write_index_png(dir.file("ds/masks/orphan.png"), mask_of(8, 8, {0}));
    // notes.txt in images/ is not an image and is skipped
    test::write_bytes(dir.file("ds/images/notes.txt"), {'h', 'i'});

    const DatasetSpec spec = folder_spec(dir, 4);  // class 2 and 3 never occur
    const LintReport r = lint_split(spec, "train");
    INFO(r.to_text());
    CHECK(r.samples == 7);

    const LintIssue* missing = find_issue(r, "missing_mask");
    REQUIRE(missing);
    CHECK(missing->count == 1);
    CHECK(missing->examples.at(0) == dir / "ds/masks/nomask.png");

    const LintIssue* size = find_issue(r, "size_mismatch");
    REQUIRE(size);
    CHECK(size->count == 1);
    CHECK(size->examples.at(0).find("8x7") != std::string::npos);

    const LintIssue* nine = find_issue(r, "labels_out_of_range", "value 9 ");
    REQUIRE(nine);
    CHECK(nine->count == 32 + 16);  // pixels
    CHECK(nine->message.find("in 2 files") != std::string::npos);
    CHECK(nine->examples.size() == 2);
    const LintIssue* forty = find_issue(r, "labels_out_of_range", "value 40 ");
    REQUIRE(forty);
    CHECK(forty->count == 16);

    const LintIssue* colour = find_issue(r, "colour_mask");
    REQUIRE(colour);
    CHECK(colour->examples.at(0).find("colour.png (8-bit RGB PNG)") != std::string::npos);

    const LintIssue* broken = find_issue(r, "unreadable_image");
    REQUIRE(broken);
    CHECK(broken->examples.at(0).find(dir / "ds/images/broken.png") != std::string::npos);
    CHECK(broken->examples.at(0).find("truncated") != std::string::npos);

    CHECK(find_issue(r, "class_never_occurs", "class 2 'class2'"));
    CHECK(find_issue(r, "class_never_occurs", "class 3 'class3'"));
    CHECK_FALSE(find_issue(r, "class_never_occurs", "class 1"));
    const LintIssue* orphan = find_issue(r, "orphan_mask");
    REQUIRE(orphan);
    CHECK(orphan->examples.at(0) == dir / "ds/masks/orphan.png");

    CHECK(r.errors() == 6);  // missing mask, unreadable image, colour mask, size, 2 label values
    CHECK(r.warnings() == 3);
    CHECK(r.to_json_text().find("\"kind\": \"labels_out_of_range\"") != std::string::npos);

    // A list naming an image that does not exist; a split whose folder does not exist.
    DatasetSpec listed = spec;
    listed.splits["val"].images = "images";
    listed.splits["val"].masks = "masks";
    listed.splits["val"].ids = {"ok", "ghost"};
    const LintReport v = lint_split(listed, "val");
    INFO(v.to_text());
    REQUIRE(find_issue(v, "missing_image"));
    CHECK(find_issue(v, "missing_image")->examples.at(0) == dir / "ds/images/ghost.*");
    listed.splits["test"].images = "nowhere";
    const LintReport t = lint_split(listed, "test");
    REQUIRE(find_issue(t, "split"));
    CHECK(find_issue(t, "split")->message.find("nowhere") != std::string::npos);
    CHECK(lint_dataset(listed).size() == 3);
}

TEST_CASE("stats: class frequencies and weights match hand-computed values", "[data][stats]") {
    TempDir dir;
    // A: 0 0 / 0 1      B: 1 1 / ignore 2      class 3 never occurs
    write_png(dir.file("ds/images/a.png"), test::pattern_image(2, 2, 3));
    write_png(dir.file("ds/images/b.png"), test::pattern_image(2, 2, 3));
    write_index_png(dir.file("ds/masks/a.png"), mask_of(2, 2, {0, 0, 0, 1}));
    write_index_png(dir.file("ds/masks/b.png"), mask_of(2, 2, {1, 1, 255, 2}));
    const ClassStats s = compute_class_stats(folder_spec(dir, 4), "train");
    CHECK(s.images == 2);
    CHECK(s.total_pixels == 8);
    CHECK(s.ignored_pixels == 1);
    CHECK(s.pixels == std::vector<int64_t>{3, 3, 1, 0});
    CHECK(s.images_with == std::vector<int64_t>{1, 2, 1, 0});
    CHECK(s.pixels_of_images_with == std::vector<int64_t>{4, 8, 4, 0});

    // median frequency: g = 3/4, 3/8, 1/4; median 3/8 -> 0.5, 1, 1.5; absent class 0.
    const std::vector<double> mf = median_frequency_weights(s);
    CHECK(mf[0] == Approx(0.5));
    CHECK(mf[1] == Approx(1.0));
    CHECK(mf[2] == Approx(1.5));
    CHECK(mf[3] == 0.0);

    // inverse sqrt: f = 3/7, 3/7, 1/7 -> 1/sqrt(f), scaled to mean 1 over the 3 present classes.
    const double a = std::sqrt(7.0 / 3.0), b = std::sqrt(7.0), mean = (2 * a + b) / 3;
    const std::vector<double> is = inverse_sqrt_weights(s);
    CHECK(is[0] == Approx(a / mean));
    CHECK(is[1] == Approx(a / mean));
    CHECK(is[2] == Approx(b / mean));
    CHECK(is[3] == 0.0);

    const std::vector<double> en = enet_weights(s);
    CHECK(en[0] == Approx(1.0 / std::log(1.02 + 3.0 / 7.0)));
    CHECK(en[2] == Approx(1.0 / std::log(1.02 + 1.0 / 7.0)));
    CHECK(en[3] == 0.0);

    CHECK(weights_json_array({0.5, 1.0, 1.5, 0.0}) == "[0.5000, 1.0000, 1.5000, 0.0000]");
    CHECK(stats_to_text(s).find("median_frequency: [0.5000, 1.0000, 1.5000, 0.0000]") != std::string::npos);
    CHECK(stats_to_json_text(s).find("\"median_frequency\"") != std::string::npos);

    // An even number of present classes takes the mean of the two middle values.
    ClassStats even = s;
    even.pixels = {1, 2};
    even.pixels_of_images_with = {10, 10};  // g = 0.1, 0.2 -> median 0.15
    const std::vector<double> w = median_frequency_weights(even);
    CHECK(w[0] == Approx(1.5));
    CHECK(w[1] == Approx(0.75));

    // Invalid labels stop the statistics with the file named.
    write_index_png(dir.file("ds/masks/b.png"), mask_of(2, 2, {1, 7}));
    CHECK_THROWS_WITH(compute_class_stats(folder_spec(dir, 4), "train"), Catch::Contains(dir / "ds/masks/b.png"));
}

TEST_CASE("lint, train, stats: one rule for a dangling symlink image, and symlink loops end", "[data][lint]") {
    // Before: the folder scan kept only entries that resolve to regular files, so lint said OK for
    // a dangling image symlink that training then silently dropped; a recursive scan followed a
    // folder symlink loop until the path was too long.
    TempDir dir;
    DatasetSpec spec = folder_spec(dir, 2);
    spec.splits["train"].recursive = true;
    write_png(dir.file("ds/images/a.png"), test::pattern_image(4, 4, 3));
    write_index_png(dir.file("ds/masks/a.png"), mask_of(4, 4, {0, 1}));
    std::filesystem::create_symlink(dir / "ds/gone.png", dir / "ds/images/b.png");  // dangling
    std::filesystem::create_symlink("loop.png", dir / "ds/images/loop.png");        // a link loop
    std::filesystem::create_directories(dir / "ds/images/sub");
    std::filesystem::create_directory_symlink("..", dir / "ds/images/sub/up");  // a folder loop
    write_png(dir.file("ds/images/sub/c.png"), test::pattern_image(4, 4, 3));
    write_index_png(dir.file("ds/masks/sub/c.png"), mask_of(4, 4, {1}));
    write_index_png(dir.file("ds/masks/b.png"), mask_of(4, 4, {1}));
    write_index_png(dir.file("ds/masks/loop.png"), mask_of(4, 4, {1}));

    std::vector<std::string> ids;
    for (const auto& p : list_samples(spec, "train")) ids.push_back(p.id);
    CHECK(ids == std::vector<std::string>{"a", "b", "loop", "sub/c"});  // each folder once

    const LintReport r = lint_split(spec, "train");
    const LintIssue* missing = find_issue(r, "missing_image");
    REQUIRE(missing != nullptr);
    CHECK(missing->count == 2);
    CHECK(missing->examples.at(0) == dir / "ds/images/b.png");
    // Training refuses the same files, by name.
    CHECK_THROWS_WITH(open_dataset(spec, "train"), Catch::Contains("images/b.png") && Catch::Contains("loop.png"));
}
