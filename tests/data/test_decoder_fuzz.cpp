// Seeded mutation fuzzing of the image and mask decoders: every mutated file must either decode or
// throw segcore::Error naming the file — never crash, hang, or throw anything else. The corpus is
// generated here (tiny PNG/JPEG/BMP files of every colour type the readers handle), so nothing
// binary is checked in. SEGCORE_FUZZ_ITERATIONS (default 3000) and SEGCORE_FUZZ_SEED override the
// number of mutations and the seed; run a sanitizer build with many iterations to hunt for bugs.
#include <catch2/catch.hpp>

#include <png.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "core/error.h"
#include "data/image_io.h"
#include "data_test_util.h"

using namespace segcore;
using namespace segcore::data;
using segcore::test::TempDir;

namespace {

uint32_t crc32_of(const uint8_t* p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// Recomputes every PNG chunk CRC, so a mutation reaches the decoders instead of the CRC check.
void fix_png_crcs(std::vector<uint8_t>& b) {
    size_t pos = 8;
    while (pos + 12 <= b.size()) {
        const uint32_t len = be32(&b[pos]);
        if (len > b.size() - pos - 12) return;
        const uint32_t crc = crc32_of(&b[pos + 4], len + 4);
        for (int i = 0; i < 4; ++i) b[pos + 8 + len + size_t(i)] = uint8_t(crc >> (24 - 8 * i));
        pos += 12 + len;
    }
}

std::vector<uint8_t> palette_png(TempDir& dir, int entries, int64_t h, int64_t w) {
    const Mask m = test::pattern_mask(h, w, entries);
    std::vector<uint8_t> indices(m.labels.begin(), m.labels.end()), colormap;
    for (int i = 0; i < entries; ++i) colormap.insert(colormap.end(), {uint8_t(i * 13), uint8_t(255 - i), uint8_t(i)});
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = png_uint_32(w);
    image.height = png_uint_32(h);
    image.format = PNG_FORMAT_RGB_COLORMAP;
    image.colormap_entries = png_uint_32(entries);
    const std::string path = dir / ("pal" + std::to_string(entries) + ".png");
    REQUIRE(png_image_write_to_file(&image, path.c_str(), 0, indices.data(), 0, colormap.data()));
    return test::file_bytes(path);
}

std::vector<uint8_t> bmp24(int w, int h) {
    const int stride = (w * 3 + 3) / 4 * 4;
    std::vector<uint8_t> b = {'B',        'M', 0, 0, 0,          0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0,
                              uint8_t(w), 0,   0, 0, uint8_t(h), 0, 0, 0, 1, 0, 24, 0, 0, 0, 0,  0, 0, 0,
                              0,          0,   0, 0, 0,          0, 0, 0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0};
    for (int i = 0; i < stride * h; ++i) b.push_back(uint8_t(i * 7));
    return b;
}

std::vector<uint8_t> bmp8_palette(int w, int h) {
    const int stride = (w + 3) / 4 * 4;
    std::vector<uint8_t> b = {'B',        'M', 0, 0, 0,          0, 0, 0, 0, 0, 54 + 16, 0, 0, 0, 40, 0, 0, 0,
                              uint8_t(w), 0,   0, 0, uint8_t(h), 0, 0, 0, 1, 0, 8,       0, 0, 0, 0,  0, 0, 0,
                              0,          0,   0, 0, 0,          0, 0, 0, 4, 0, 0,       0, 0, 0, 0,  0, 0, 0};
    b.reserve(b.size() + 16 + size_t(stride * h));
    for (int i = 0; i < 4; ++i) {  // palette entries: B, G, R, 0
        b.push_back(uint8_t(i * 60));
        b.push_back(uint8_t(255 - i * 60));
        b.push_back(9);
        b.push_back(0);
    }
    for (int i = 0; i < stride * h; ++i) b.push_back(uint8_t(i % 4));
    return b;
}

struct Seed {
    std::string name, ext;
    std::vector<uint8_t> bytes;
};

std::vector<Seed> make_corpus(TempDir& dir) {
    std::vector<Seed> corpus;
    auto add_written = [&](const std::string& name, const std::string& ext) {
        corpus.push_back({name, ext, test::file_bytes(dir / (name + ext))});
    };
    write_png(dir / "rgb.png", test::pattern_image(6, 7, 3));
    add_written("rgb", ".png");
    write_png(dir / "rgba.png", test::pattern_image(5, 4, 4));
    add_written("rgba", ".png");
    write_png(dir / "grey.png", test::pattern_image(7, 5, 1));
    add_written("grey", ".png");
    write_png(dir / "ga.png", test::pattern_image(3, 6, 2));
    add_written("ga", ".png");
    Mask wide = test::pattern_mask(6, 6, 5);
    wide.at(2, 2) = 40000;
    write_index_png(dir / "grey16.png", wide);
    add_written("grey16", ".png");
    write_index_png(dir / "index.png", test::pattern_mask(8, 8, 12, 255));
    add_written("index", ".png");
    write_palette_png(dir / "palette8.png", test::pattern_mask(8, 6, 21, 255), {{1, 2, 3}, {4, 5, 6}});
    add_written("palette8", ".png");
    for (int entries : {2, 4, 16})
        corpus.push_back({"pal" + std::to_string(entries), ".png", palette_png(dir, entries, 5, 9)});
    write_jpeg(dir / "rgb.jpg", test::pattern_image(16, 16, 3), 90);
    add_written("rgb", ".jpg");
    write_jpeg(dir / "grey.jpg", test::pattern_image(9, 11, 1), 75);
    add_written("grey", ".jpg");
    corpus.push_back({"rgb24", ".bmp", bmp24(5, 3)});
    corpus.push_back({"pal8", ".bmp", bmp8_palette(6, 4)});
    return corpus;
}

std::vector<uint8_t> mutate(const Seed& seed, std::mt19937& rng) {
    std::vector<uint8_t> b = seed.bytes;
    auto pick = [&](size_t n) { return size_t(std::uniform_int_distribution<size_t>(0, n - 1)(rng)); };
    const int kind = int(pick(7));
    const int count = 1 + int(pick(4));
    for (int i = 0; i < count && !b.empty(); ++i) {
        switch (kind) {
            case 0:
                b[pick(b.size())] ^= uint8_t(1u << pick(8));
                break;  // bit flip
            case 1:
                b[pick(b.size())] = uint8_t(std::vector<int>{0, 0xff, 0x7f, 0x80, 1}[pick(5)]);
                break;  // magic bytes
            case 2:
                b.resize(pick(b.size()));
                i = count;
                break;  // truncation
            case 3:
                b.insert(b.begin() + std::ptrdiff_t(pick(b.size() + 1)), uint8_t(rng()));
                break;  // insertion
            case 4:
                b.erase(b.begin() + std::ptrdiff_t(pick(b.size())));
                break;  // deletion
            case 5: {   // header fields: somewhere in the first 64 bytes, a random or extreme value
                const size_t at = pick(std::min<size_t>(b.size(), 64));
                b[at] = uint8_t(pick(2) ? rng() : (pick(2) ? 0xff : 0));
                break;
            }
            default: {  // a run of random bytes
                const size_t at = pick(b.size()), n = std::min<size_t>(b.size() - at, 1 + pick(16));
                for (size_t k = 0; k < n; ++k) b[at + k] = uint8_t(rng());
                break;
            }
        }
    }
    // Half of the PNG mutations get valid CRCs, so they get past the checksum into the decoders.
    if (seed.ext == ".png" && pick(2)) fix_png_crcs(b);
    return b;
}

// Returns false when something other than segcore::Error escaped; an Error must name the file.
template <typename F>
bool decodes_or_throws_error(F&& read, const std::string& path, int64_t& errors) {
    try {
        read();
    } catch (const Error& e) {
        ++errors;
        if (std::string(e.what()).find(path) == std::string::npos) {
            FAIL_CHECK("error without the file name: " << e.what());
        }
    } catch (const std::exception& e) {
        FAIL_CHECK("non-segcore exception: " << e.what());
        return false;
    }
    return true;
}

}  // namespace

TEST_CASE("decoder fuzz: the corpus decodes", "[data][fuzz]") {
    TempDir dir;
    for (const Seed& s : make_corpus(dir)) {
        INFO(s.name << s.ext);
        const std::string path = dir / ("seed_" + s.name + s.ext);
        test::write_bytes(path, s.bytes);
        CHECK_NOTHROW(read_image(path, 0));
        CHECK_NOTHROW(read_image(path, 3));
        CHECK_NOTHROW(read_mask_rgb(path));
        CHECK_NOTHROW(read_mask_file(path));
    }
}

TEST_CASE("decoder fuzz: mutated files decode or throw segcore::Error", "[data][fuzz]") {
    TempDir dir(test::shm_or_tmp());
    const std::vector<Seed> corpus = make_corpus(dir);
    size_t corpus_bytes = 0;
    for (const Seed& s : corpus) corpus_bytes += s.bytes.size();
    CHECK(corpus_bytes < 20000);

    int iterations = 3000;
    if (const char* env = std::getenv("SEGCORE_FUZZ_ITERATIONS")) iterations = std::atoi(env);
    uint32_t seed = 20240611;
    if (const char* env = std::getenv("SEGCORE_FUZZ_SEED")) seed = uint32_t(std::strtoul(env, nullptr, 10));
    std::mt19937 rng(seed);
    int64_t decoded = 0, errors = 0;
    for (int it = 0; it < iterations; ++it) {
        const Seed& seed = corpus[size_t(it) % corpus.size()];
        const std::vector<uint8_t> bytes = mutate(seed, rng);
        char name[32];
        std::snprintf(name, sizeof name, "m%d%s", it % 16, seed.ext.c_str());
        const std::string path = dir / name;
        test::write_bytes(path, bytes);
        INFO("iteration " << it << ", seed " << seed.name << seed.ext << ", " << bytes.size() << " bytes");
        const int64_t before = errors;
        bool ok = decodes_or_throws_error([&] { read_image(path, 0); }, path, errors) &&
                  decodes_or_throws_error([&] { read_image(path, 1); }, path, errors) &&
                  decodes_or_throws_error([&] { read_mask_file(path); }, path, errors) &&
                  decodes_or_throws_error([&] { read_mask_rgb(path); }, path, errors) &&
                  decodes_or_throws_error([&] { read_image_info(path); }, path, errors);
        REQUIRE(ok);
        decoded += (errors == before);
    }
    // Both outcomes must actually happen, or the mutations are too weak (or too strong) to test anything.
    CHECK(decoded > iterations / 50);
    CHECK(errors > iterations);
    WARN("fuzz: " << iterations << " mutations, " << decoded << " decoded by every reader, " << errors << " errors");
}
