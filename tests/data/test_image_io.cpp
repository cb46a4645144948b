// Image and mask I/O: round trips through every writer, palette PNGs read as indices, 16-bit
// masks, JPEG within tolerance, colour masks through a palette, atomic writes.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <png.h>
#include <stb_image.h>  // the decoder compiled into segcore_data, to show what it does with palettes

#include "core/error.h"
#include "data/image_io.h"
#include "data_test_util.h"

using namespace segcore;
using namespace segcore::data;
using segcore::test::TempDir;

TEST_CASE("image_io: RGB, grey and RGBA PNG round-trip exactly", "[data][image_io]") {
    TempDir dir;
    for (int64_t c : {1, 2, 3, 4}) {
        const Image img = test::pattern_image(13, 17, c);
        const std::string path = dir / (std::string("img") + std::to_string(c) + ".png");
        write_png(path, img);
        const Image back = read_image(path, 0);
        CHECK(back.height == 13);
        CHECK(back.width == 17);
        CHECK(back.channels == c);
        CHECK(back.pixels == img.pixels);
        const ImageInfo info = read_image_info(path);
        CHECK(info.format == "PNG");
        CHECK(info.channels == c);
        CHECK(info.width == 17);
    }
}

TEST_CASE("image_io: read_image converts channels: grey -> RGB replicates, RGB -> grey", "[data][image_io]") {
    TempDir dir;
    const Image grey = test::pattern_image(5, 6, 1);
    write_png(dir / "g.png", grey);
    const Image rgb = read_image(dir / "g.png");  // default: 3 channels
    REQUIRE(rgb.channels == 3);
    for (int64_t i = 0; i < 30; ++i)
        for (int k = 0; k < 3; ++k) CHECK(rgb.pixels[size_t(i * 3 + k)] == grey.pixels[size_t(i)]);
    const Image back = read_image(dir / "g.png", 1);
    CHECK(back.pixels == grey.pixels);
}

TEST_CASE("image_io: JPEG round-trips within a small error", "[data][image_io]") {
    TempDir dir;
    const Image img = test::pattern_image(32, 48, 3);
    write_jpeg(dir / "a.jpg", img, 95);
    const Image back = read_image(dir / "a.jpg");
    REQUIRE(back.height == 32);
    REQUIRE(back.width == 48);
    REQUIRE(back.channels == 3);
    double err = 0;
    for (size_t i = 0; i < img.pixels.size(); ++i) err += std::abs(int(back.pixels[i]) - int(img.pixels[i]));
    CHECK(err / double(img.pixels.size()) < 4.0);
    CHECK(read_image_info(dir / "a.jpg").format == "JPEG");
}

TEST_CASE("image_io: index PNG round-trips 8-bit and switches to 16-bit for large labels", "[data][image_io]") {
    TempDir dir;
    Mask m = test::pattern_mask(9, 11, 12, 255);
    write_index_png(dir / "m8.png", m);
    CHECK(read_mask(dir / "m8.png").labels == m.labels);
    CHECK(read_mask_file(dir / "m8.png").kind == "8-bit grey PNG");

    m.at(3, 4) = 1000;
    m.at(8, 10) = 65535;
    write_index_png(dir / "m16.png", m);
    const MaskFile f = read_mask_file(dir / "m16.png");
    CHECK(f.kind == "16-bit grey PNG");
    CHECK(f.values.labels == m.labels);

    m.at(0, 0) = 65536;
    CHECK_THROWS_WITH(write_index_png(dir / "bad.png", m), Catch::Contains("65536"));
    m.at(0, 0) = -1;
    CHECK_THROWS_WITH(write_index_png(dir / "bad.png", m), Catch::Contains("-1"));
    CHECK_FALSE(std::filesystem::exists(dir / "bad.png"));
}

TEST_CASE("image_io: a palette PNG is read as indices (stb_image would give colours)", "[data][image_io]") {
    TempDir dir;
    const Palette palette = {{10, 20, 30}, {200, 0, 0}, {0, 200, 0}, {0, 0, 200}, {255, 255, 0}};
    const Mask m = test::pattern_mask(8, 10, 5, 255);  // 255 = ignore, beyond the palette: padded
    write_palette_png(dir / "p.png", m, palette);

    const MaskFile f = read_mask_file(dir / "p.png");
    CHECK(f.kind == "palette PNG");
    CHECK_FALSE(f.is_rgb());
    CHECK(f.values.labels == m.labels);
    CHECK(read_mask(dir / "p.png").labels == m.labels);

    // stb_image expands the palette: the class indices are gone.
    const std::vector<uint8_t> bytes = test::file_bytes(dir / "p.png");
    int w = 0, h = 0, c = 0;
    stbi_uc* px = stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &c, 0);
    REQUIRE(px != nullptr);
    CHECK(c == 3);
    CHECK(px[3 * 12 + 0] == palette[size_t(m.labels[12])][0]);  // row 1, x = 2: a colour, not an index
    stbi_image_free(px);

    // read_mask_rgb gives the colours, and rgb_to_mask maps them back.
    const Image rgb = read_mask_rgb(dir / "p.png");
    REQUIRE(rgb.channels == 3);
    CHECK(rgb.at(1, 0)[1] == palette[size_t(m.at(1, 0))][1]);
    const Mask back = rgb_to_mask(rgb, palette, "p.png", 255);
    CHECK(back.labels == m.labels);  // the padding colour (black) is not in the palette -> 255
}

TEST_CASE("image_io: 1-, 2- and 4-bit palette PNGs are unpacked to their indices", "[data][image_io]") {
    // libpng's simplified writer stores a colour-mapped image with as few bits as the palette needs.
    TempDir dir;
    for (int entries : {2, 4, 16}) {
        const Mask m = test::pattern_mask(7, 9, entries);
        std::vector<uint8_t> indices(m.labels.begin(), m.labels.end());
        std::vector<uint8_t> colormap;
        for (int i = 0; i < entries; ++i) colormap.insert(colormap.end(), {uint8_t(i * 15), uint8_t(255 - i), 7});
        png_image image{};
        image.version = PNG_IMAGE_VERSION;
        image.width = 9;
        image.height = 7;
        image.format = PNG_FORMAT_RGB_COLORMAP;
        image.colormap_entries = png_uint_32(entries);
        char name[32];  // snprintf: GCC 12 -Wrestrict misfires on "p" + std::to_string(...)
        std::snprintf(name, sizeof name, "p%d.png", entries);
        const std::string path = dir / name;
        REQUIRE(png_image_write_to_file(&image, path.c_str(), 0, indices.data(), 0, colormap.data()));
        const std::vector<uint8_t> bytes = test::file_bytes(path);
        REQUIRE(bytes.size() > 25);
        CHECK(int(bytes[24]) == (entries == 2 ? 1 : entries == 4 ? 2 : 4));  // IHDR bit depth
        CHECK(read_mask_file(path).kind == "palette PNG");
        CHECK(read_mask(path).labels == m.labels);
    }
}

TEST_CASE("image_io: colour masks are refused by read_mask and mapped by rgb_to_mask", "[data][image_io]") {
    TempDir dir;
    const Palette palette = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}};
    const Mask m = test::pattern_mask(6, 7, 3);
    Image rgb;
    rgb.height = 6;
    rgb.width = 7;
    rgb.channels = 3;
    for (int32_t v : m.labels)
        rgb.pixels.insert(rgb.pixels.end(), palette[size_t(v)].begin(), palette[size_t(v)].end());
    write_png(dir / "c.png", rgb);
    const std::string path = dir / "c.png";
    CHECK_THROWS_WITH(read_mask(path), Catch::Contains(path) && Catch::Contains("colour"));
    const MaskFile f = read_mask_file(path);
    CHECK(f.is_rgb());
    CHECK(f.kind == "8-bit RGB PNG");
    CHECK(rgb_to_mask(read_mask_rgb(path), palette, path).labels == m.labels);

    rgb.pixels[0] = 7;  // a colour not in the palette
    CHECK_THROWS_WITH(rgb_to_mask(rgb, palette, "x.png"), Catch::Contains("x.png") && Catch::Contains("(7,0,0) x 1"));
    CHECK(rgb_to_mask(rgb, palette, "x.png", 99).labels[0] == 99);
}

TEST_CASE("image_io: BMP images are read", "[data][image_io]") {
    // A 3x2 24-bit BMP written by hand (bottom-up rows, 4-byte aligned).
    TempDir dir;
    std::vector<uint8_t> b = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1,
                              0,   24,  0, 0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    // bottom row (y = 1): blue, green, red pixels (stored BGR), then top row (y = 0): white x3
    const std::vector<uint8_t> rows = {255, 0,   0,   0,   255, 0,   0,   0,   255, 0, 0, 0,
                                       255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0};
    b.insert(b.end(), rows.begin(), rows.end());
    b[2] = uint8_t(b.size());
    test::write_bytes(dir / "a.bmp", b);
    const Image img = read_image(dir / "a.bmp");
    REQUIRE(img.height == 2);
    REQUIRE(img.width == 3);
    CHECK(img.at(0, 0)[0] == 255);
    CHECK(img.at(1, 0)[2] == 255);  // blue
    CHECK(img.at(1, 0)[0] == 0);
    CHECK(img.at(1, 2)[0] == 255);  // red
    CHECK(read_image_info(dir / "a.bmp").format == "BMP");
}

TEST_CASE("image_io: writes are atomic and leave no temporary files", "[data][image_io]") {
    TempDir dir;
    const Image img = test::pattern_image(4, 4, 3);
    write_png(dir / "a.png", img);
    write_png(dir / "a.png", test::pattern_image(5, 5, 3));  // replaces it
    CHECK(read_image(dir / "a.png").height == 5);
    write_jpeg(dir / "b.jpg", img);
    write_index_png(dir / "c.png", test::pattern_mask(4, 4, 3));
    write_palette_png(dir / "d.png", test::pattern_mask(4, 4, 3), {{1, 2, 3}});
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        ++files;
        CHECK(e.path().string().find(".tmp.") == std::string::npos);
    }
    CHECK(files == 4);
    // A failed write (bad input) leaves the old file alone.
    Image bad = img;
    bad.pixels.pop_back();
    CHECK_THROWS_AS(write_png(dir / "a.png", bad), Error);
    CHECK(read_image(dir / "a.png").height == 5);
    // Writing into a folder that does not exist names the path.
    CHECK_THROWS_WITH(write_png(dir / "no/such/dir/x.png", img), Catch::Contains("no/such/dir/x.png"));
}
