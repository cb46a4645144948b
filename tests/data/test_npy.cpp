// The .npy writer (data/npy.h) read back byte by byte by a small parser written here from the
// NumPy format spec, independent of the writer: magic, version, header length, the header dict,
// 64-byte alignment of the data, the values. Shapes are chosen so the header needs no padding, the
// most padding (63 spaces), and more than version 1.0's 65535 header bytes.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "data/file_util.h"
#include "data/npy.h"
#include "data_test_util.h"

using namespace segcore;
using segcore::test::TempDir;

namespace {

struct ParsedNpy {
    int major = 0, minor = 0;
    size_t header_len = 0, data_offset = 0;
    std::string header;  // the dict text, without padding and '\n'
    std::vector<int64_t> shape;
    std::vector<float> values;
};

uint64_t read_le(const std::vector<uint8_t>& b, size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t(b.at(at + size_t(i))) << (8 * i);
    return v;
}

// Parses what numpy.load needs; REQUIREs every rule of the format on the way.
ParsedNpy parse_npy(const std::vector<uint8_t>& b) {
    ParsedNpy p;
    REQUIRE(b.size() >= 10);
    REQUIRE(std::memcmp(b.data(), "\x93NUMPY", 6) == 0);
    p.major = b[6];
    p.minor = b[7];
    REQUIRE((p.major == 1 || p.major == 2));
    REQUIRE(p.minor == 0);
    const int len_bytes = p.major == 1 ? 2 : 4;
    p.header_len = size_t(read_le(b, 8, len_bytes));
    p.data_offset = 8 + size_t(len_bytes) + p.header_len;
    REQUIRE(p.data_offset % 64 == 0);
    REQUIRE(b.size() >= p.data_offset);
    std::string h(b.begin() + 8 + len_bytes, b.begin() + long(p.data_offset));
    REQUIRE(h.back() == '\n');
    h.pop_back();
    while (!h.empty() && h.back() == ' ') h.pop_back();  // the padding
    p.header = h;
    REQUIRE(h.front() == '{');
    REQUIRE(h.back() == '}');
    CHECK(h.find("'descr': '<f4'") != std::string::npos);
    CHECK(h.find("'fortran_order': False") != std::string::npos);
    const std::string key = "'shape': (";
    const size_t s = h.find(key);
    REQUIRE(s != std::string::npos);
    const size_t e = h.find(')', s);
    REQUIRE(e != std::string::npos);
    // "(2, 3, 4)", "(5,)", "()": integers separated by ", ", a trailing ',' only for one dimension.
    const std::string dims = h.substr(s + key.size(), e - s - key.size());
    int64_t count = 1;
    size_t i = 0;
    while (i < dims.size()) {
        REQUIRE(std::isdigit(static_cast<unsigned char>(dims[i])));
        int64_t d = 0;
        while (i < dims.size() && std::isdigit(static_cast<unsigned char>(dims[i]))) d = d * 10 + (dims[i++] - '0');
        p.shape.push_back(d);
        count *= d;
        if (i == dims.size()) break;
        REQUIRE(dims[i] == ',');
        ++i;
        if (i == dims.size()) {
            CHECK(p.shape.size() == 1);
            break;
        }
        REQUIRE(dims[i] == ' ');
        ++i;
    }
    if (p.shape.size() == 1) CHECK(dims.back() == ',');
    REQUIRE(b.size() == p.data_offset + size_t(count) * 4);
    p.values.resize(size_t(count));
    for (size_t k = 0; k < p.values.size(); ++k) {
        const auto bits = uint32_t(read_le(b, p.data_offset + 4 * k, 4));
        std::memcpy(&p.values[k], &bits, 4);
    }
    return p;
}

std::vector<float> ramp(int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (size_t i = 0; i < v.size(); ++i) v[i] = float(i) * 0.25f - 3.0f;
    return v;
}

int64_t product(const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

}  // namespace

TEST_CASE("npy: a (K, H, W) array reads back as numpy writes it", "[data][npy]") {
    const std::vector<int64_t> shape{2, 3, 4};
    std::vector<float> v = ramp(24);
    v[5] = -0.0f;
    v[7] = 1e-40f;  // subnormal: bits kept
    const std::vector<uint8_t> b = data::npy_encode_f32(shape, v.data());
    const ParsedNpy p = parse_npy(b);
    CHECK(p.major == 1);
    CHECK(p.data_offset == 128);  // header_len 118, as in numpy's own files of 3-D arrays
    // numpy's own header text for this array (numpy.save of float32 (2, 3, 4)).
    CHECK(p.header == "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }");
    CHECK(p.shape == shape);
    REQUIRE(p.values.size() == v.size());
    CHECK(std::memcmp(p.values.data(), v.data(), v.size() * 4) == 0);
}

TEST_CASE("npy: one dimension, a scalar, an empty array", "[data][npy]") {
    const std::vector<float> v = ramp(5);
    ParsedNpy p = parse_npy(data::npy_encode_f32({5}, v.data()));
    CHECK(p.header == "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }");
    CHECK(p.values == v);
    p = parse_npy(data::npy_encode_f32({}, v.data()));
    CHECK(p.header == "{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
    CHECK(p.values == std::vector<float>{v[0]});
    p = parse_npy(data::npy_encode_f32({3, 0, 2}, nullptr));
    CHECK(p.shape == std::vector<int64_t>{3, 0, 2});
    CHECK(p.values.empty());
    CHECK_THROWS_AS(data::npy_encode_f32({2, -1}, v.data()), Error);
    CHECK_THROWS_AS(data::npy_encode_f32({2}, nullptr), Error);
}

TEST_CASE("npy: padding edge cases and the 2.0 header", "[data][npy]") {
    // The dict of n ones is 53 + 3n characters (n >= 2); a "10" adds one. 10 bytes of magic,
    // version and length + dict + '\n':
    //   21 dims, one 10:  10 + 117 + 1 = 128 -> no padding at all
    //   21 dims, two 10s: 10 + 118 + 1 = 129 -> 63 spaces up to 192
    std::vector<int64_t> exact(21, 1), most(21, 1);
    exact[3] = 10;
    most[0] = most[20] = 10;
    for (const auto& [shape, offset, spaces] :
         {std::tuple{exact, size_t(128), size_t(0)}, std::tuple{most, size_t(192), size_t(63)}}) {
        const std::vector<float> v = ramp(product(shape));
        const std::vector<uint8_t> b = data::npy_encode_f32(shape, v.data());
        const ParsedNpy p = parse_npy(b);
        CHECK(p.major == 1);
        CHECK(p.data_offset == offset);
        CHECK(p.header_len == offset - 10);
        CHECK(p.header_len - 1 - p.header.size() == spaces);
        CHECK(p.shape == shape);
        CHECK(p.values == v);
    }
    // Every header length from no padding to the most, around a 64-byte boundary: the data always
    // starts aligned and the values survive (checked by parse_npy).
    for (int n = 2; n <= 40; ++n) {
        std::vector<int64_t> shape(size_t(n), 1);
        shape[0] = 7;
        const std::vector<float> v = ramp(7);
        CHECK(parse_npy(data::npy_encode_f32(shape, v.data())).values == v);
    }
    // A header beyond 65535 bytes (22000 dimensions of 1) needs version 2.0's 4-byte length.
    const std::vector<int64_t> huge(22000, 1);
    const float one = 1.5f;
    const ParsedNpy p = parse_npy(data::npy_encode_f32(huge, &one));
    CHECK(p.major == 2);
    CHECK(p.header_len > 65535);
    CHECK(p.shape.size() == huge.size());
    CHECK(p.values == std::vector<float>{1.5f});
}

TEST_CASE("npy: write_npy_f32 writes the encoded bytes atomically", "[data][npy]") {
    TempDir dir;
    const std::vector<float> v = ramp(6);
    const std::string path = dir / "a.npy";
    data::write_npy_f32(path, {1, 2, 3}, v.data());
    CHECK(data::read_file_bytes(path) == data::npy_encode_f32({1, 2, 3}, v.data()));
    data::write_npy_f32(path, {6}, v.data());  // over an existing file
    CHECK(parse_npy(data::read_file_bytes(path)).shape == std::vector<int64_t>{6});
    int64_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
    CHECK(files == 1);  // no temporary file left beside it
    CHECK_THROWS_AS(data::write_npy_f32(dir / "missing/a.npy", {6}, v.data()), Error);
}
