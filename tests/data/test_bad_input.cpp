// Bad files: every failure is a segcore::Error whose message names the file.
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/error.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "data_test_util.h"

using namespace segcore;
using namespace segcore::data;
using segcore::test::TempDir;

namespace {

uint32_t crc32(const uint8_t* p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

void put_be32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + size_t(i)] = uint8_t(v >> (24 - 8 * i));
}

// Rewrites a PNG's IHDR width/height (and fixes its CRC, so only the size is wrong).
std::vector<uint8_t> png_with_size(std::vector<uint8_t> b, uint32_t w, uint32_t h) {
    put_be32(b, 16, w);
    put_be32(b, 20, h);
    put_be32(b, 29, crc32(&b[12], 17));  // CRC over "IHDR" + 13 data bytes
    return b;
}

// Every reader must throw segcore::Error mentioning the path (and `also`).
template <typename F>
void require_error(F&& read, const std::string& path, const std::string& also) {
    try {
        read();
        FAIL("no error reading " << path);
    } catch (const Error& e) {
        const std::string what = e.what();
        INFO("message: " << what);
        CHECK(what.find(path) != std::string::npos);
        CHECK(what.find(also) != std::string::npos);
    }
}

// header_ok: the damage is past the header, so read_image_info (which decodes nothing) may succeed.
void require_all_readers_fail(const std::string& path, const std::string& also = "", bool header_ok = false) {
    INFO("file: " << path);
    require_error([&] { read_image(path); }, path, also);
    require_error([&] { read_mask(path); }, path, also);
    require_error([&] { read_mask_rgb(path); }, path, also);
    if (!header_ok) require_error([&] { read_image_info(path); }, path, also);
}

}  // namespace

TEST_CASE("bad input: missing, empty and non-image files", "[data][bad_input]") {
    TempDir dir;
    require_all_readers_fail(dir / "does_not_exist.png", "cannot open");
    test::write_bytes(dir / "empty.png", {});
    require_all_readers_fail(dir / "empty.png", "empty");
    const std::string text = "name,value\nthis is not an image\n";
    test::write_bytes(dir / "notes.png", std::vector<uint8_t>(text.begin(), text.end()));
    require_all_readers_fail(dir / "notes.png", "not a JPEG, PNG or BMP");
    std::filesystem::create_directories(dir / "folder.png");
    require_all_readers_fail(dir / "folder.png", "not a regular file");
}

TEST_CASE("bad input: truncated PNG, JPEG and BMP files", "[data][bad_input]") {
    TempDir dir;
    const Image img = test::pattern_image(24, 40, 3);
    write_png(dir / "a.png", img);
    write_jpeg(dir / "a.jpg", img);
    write_index_png(dir / "m.png", test::pattern_mask(24, 40, 5));
    const std::vector<uint8_t> png = test::file_bytes(dir / "a.png"), jpg = test::file_bytes(dir / "a.jpg"),
                               mask = test::file_bytes(dir / "m.png");
    // Cut inside the signature, the header, the pixel data, and just before the end.
    for (const auto* src : {&png, &jpg, &mask}) {
        for (size_t keep : {size_t(5), size_t(20), size_t(40), src->size() / 2, src->size() - 1}) {
            const std::string path = dir / ("cut_" + std::to_string(keep) + (src == &jpg ? ".jpg" : ".png"));
            test::write_bytes(path, std::vector<uint8_t>(src->begin(), src->begin() + std::ptrdiff_t(keep)));
            require_all_readers_fail(path, "", keep >= 33);
        }
    }
    // BMP: header intact, pixel array cut short (stb_image alone would pad it with zeros).
    std::vector<uint8_t> bmp = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0, 1,
                                0,   24,  0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    bmp.resize(bmp.size() + 8 * 8 * 3, 128);
    test::write_bytes(dir / "full.bmp", bmp);
    CHECK(read_image(dir / "full.bmp").width == 8);
    bmp.resize(bmp.size() - 50);
    test::write_bytes(dir / "cut.bmp", bmp);
    CHECK_THROWS_WITH(read_image(dir / "cut.bmp"), Catch::Contains(dir / "cut.bmp") && Catch::Contains("truncated"));
}

TEST_CASE("bad input: corrupt headers and data", "[data][bad_input]") {
    TempDir dir;
    write_index_png(dir / "m.png", test::pattern_mask(16, 16, 4));
    const std::vector<uint8_t> good = test::file_bytes(dir / "m.png");

    std::vector<uint8_t> b = good;
    b[24] = 3;  // bit depth 3 does not exist
    put_be32(b, 29, crc32(&b[12], 17));
    test::write_bytes(dir / "depth.png", b);
    require_all_readers_fail(dir / "depth.png");

    b = good;
    b[33 + 8] ^= 0xff;  // first byte of the IDAT payload: the zlib header
    test::write_bytes(dir / "zlib.png", b);
    require_all_readers_fail(dir / "zlib.png", "", true);

    b = good;
    b[17] ^= 0x40;  // IHDR CRC no longer matches: libpng refuses the mask
    test::write_bytes(dir / "crc.png", b);
    CHECK_THROWS_WITH(read_mask(dir / "crc.png"), Catch::Contains(dir / "crc.png"));
}

TEST_CASE("bad input: image bombs are refused before decoding", "[data][bad_input]") {
    TempDir dir;
    write_index_png(dir / "m.png", test::pattern_mask(16, 16, 4));
    // 100000 x 100000 = 1e10 pixels (each side is legal for libpng and stb_image).
    test::write_bytes(dir / "bomb.png", png_with_size(test::file_bytes(dir / "m.png"), 100000, 100000));
    require_all_readers_fail(dir / "bomb.png", "kMaxImagePixels");

    std::vector<uint8_t> bmp = {'B',  'M',  0, 0, 0,    0,    0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0,
                                0x60, 0xea, 0, 0, 0x60, 0xea, 0, 0, 1, 0, 24, 0, 0, 0, 0,  0, 0, 0,
                                0,    0,    0, 0, 0,    0,    0, 0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0};
    bmp.resize(bmp.size() + 64, 0);  // 60000 x 60000 declared, 64 bytes of pixels
    test::write_bytes(dir / "bomb.bmp", bmp);
    CHECK_THROWS_WITH(read_image(dir / "bomb.bmp"),
                      Catch::Contains(dir / "bomb.bmp") && Catch::Contains("kMaxImagePixels"));
    CHECK_THROWS_WITH(read_image_info(dir / "bomb.bmp"), Catch::Contains("kMaxImagePixels"));

    // JPEG: SOF0 declaring 65535 x 65535.
    write_jpeg(dir / "a.jpg", test::pattern_image(8, 8, 3));
    std::vector<uint8_t> jpg = test::file_bytes(dir / "a.jpg");
    bool patched = false;
    for (size_t i = 2; i + 8 < jpg.size(); ++i) {
        if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) {
            jpg[i + 5] = jpg[i + 6] = jpg[i + 7] = jpg[i + 8] = 0xff;
            patched = true;
            break;
        }
    }
    REQUIRE(patched);
    test::write_bytes(dir / "bomb.jpg", jpg);
    CHECK_THROWS_WITH(read_image(dir / "bomb.jpg"),
                      Catch::Contains(dir / "bomb.jpg") && Catch::Contains("kMaxImagePixels"));
}

TEST_CASE("bad input: a sample whose mask size differs names both files", "[data][bad_input]") {
    TempDir dir;
    write_png(dir.file("images/a.png"), test::pattern_image(10, 12, 3));
    write_index_png(dir.file("masks/a.png"), test::pattern_mask(10, 11, 3));
    DatasetSpec spec;
    spec.name = "t";
    spec.root = dir.path();
    spec.classes = {"a", "b", "c"};
    spec.splits["train"].images = "images";
    spec.splits["train"].masks = "masks";
    const auto ds = open_dataset(spec, "train");
    REQUIRE(ds->size() == 1);
    CHECK_THROWS_WITH(ds->get(0), Catch::Contains(dir / "images/a.png") && Catch::Contains(dir / "masks/a.png") &&
                                      Catch::Contains("12x10") && Catch::Contains("11x10"));
}

TEST_CASE("bad input: labels outside the classes name the file, the values and their counts", "[data][bad_input]") {
    TempDir dir;
    write_png(dir.file("images/a.png"), test::pattern_image(8, 8, 3));
    Mask m = test::pattern_mask(8, 8, 3, 255);  // row 0 = 255 (ignore): fine
    m.at(3, 3) = 7;
    m.at(4, 4) = 7;
    m.at(5, 5) = 200;
    write_index_png(dir.file("masks/a.png"), m);
    DatasetSpec spec;
    spec.name = "t";
    spec.root = dir.path();
    spec.classes = {"a", "b", "c"};
    spec.splits["train"].images = "images";
    spec.splits["train"].masks = "masks";
    const auto ds = open_dataset(spec, "train");
    CHECK_THROWS_WITH(ds->get(0), Catch::Contains(dir / "masks/a.png") && Catch::Contains("3 pixels") &&
                                      Catch::Contains("value 7 x 2 pixels") && Catch::Contains("value 200 x 1 pixels"));
    CHECK_THROWS_WITH(ds->get(1), Catch::Contains("out of range"));
}

TEST_CASE("bad input: missing pairs are reported when the dataset is opened", "[data][bad_input]") {
    TempDir dir;
    write_png(dir.file("images/a.png"), test::pattern_image(4, 4, 3));
    write_png(dir.file("images/b.png"), test::pattern_image(4, 4, 3));
    write_index_png(dir.file("masks/a.png"), test::pattern_mask(4, 4, 2));
    DatasetSpec spec;
    spec.name = "t";
    spec.root = dir.path();
    spec.classes = {"a", "b"};
    spec.splits["train"].images = "images";
    spec.splits["train"].masks = "masks";
    CHECK_THROWS_WITH(open_dataset(spec, "train"), Catch::Contains(dir / "masks/b.png") && Catch::Contains("lint"));
    CHECK_THROWS_WITH(open_dataset(spec, "val"), Catch::Contains("no split 'val'") && Catch::Contains("train"));
}
