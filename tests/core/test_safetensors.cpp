// safetensors: round trips, the file layout, atomic writes, and one test per kind of corrupt file.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/safetensors.h"

using namespace segcore;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed afterwards.
struct TempDir {
    fs::path dir;
    TempDir() {
        static int counter = 0;
        dir = fs::temp_directory_path() /
              ("segcore_st_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string file(const std::string& name) const { return (dir / name).string(); }
    // Names of the files in the directory (to spot leftover temp files).
    std::vector<std::string> listing() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

std::string read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string le64(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[size_t(i)] = char(uint8_t(v >> (8 * i)));
    return s;
}

// A file with the given header text and data bytes (the header length is set to match).
std::string make_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

bool same_bytes(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const Tensor x = a.cpu().contiguous(), y = b.cpu().contiguous();
    return x.nbytes() == y.nbytes() && std::memcmp(x.data_ptr(), y.data_ptr(), size_t(x.nbytes())) == 0;
}

Tensor random_tensor(DType t, const Shape& s, Generator& g) {
    if (is_floating(t)) return randn(s, t, &g);
    if (t == DType::Bool) return randint(0, 2, s, DType::I64, &g).to(DType::Bool);
    if (t == DType::U8) return randint(0, 256, s, DType::U8, &g);
    return randint(-1000000, 1000000, s, t, &g);
}

const DType kAllDTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8, DType::Bool};

// Loads `bytes` as a file and returns the error message (empty when it loaded).
std::string load_error(const TempDir& d, const std::string& bytes, const std::string& name = "bad.safetensors") {
    const std::string path = d.file(name);
    write_bytes(path, bytes);
    try {
        (void)load_safetensors(path);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

const std::string kF32Entry = R"({"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})";

}  // namespace

TEST_CASE("safetensors: dtype names", "[core][safetensors]") {
    for (DType t : kAllDTypes) CHECK(safetensors_dtype_from_name(safetensors_dtype_name(t)) == t);
    CHECK(std::string(safetensors_dtype_name(DType::Bool)) == "BOOL");
    CHECK(std::string(safetensors_dtype_name(DType::BF16)) == "BF16");
    REQUIRE_THROWS_WITH(safetensors_dtype_from_name("f32"), Catch::Contains("unsupported dtype 'f32'"));
}

TEST_CASE("safetensors: round trip of every dtype, layouts, 0-dim and empty tensors", "[core][safetensors]") {
    TempDir d;
    Generator g(17);
    std::vector<std::pair<std::string, Tensor>> tensors;
    for (DType t : kAllDTypes) {
        const std::string n = dtype_name(t);
        tensors.emplace_back("z." + n + ".matrix", random_tensor(t, {5, 7}, g));
        tensors.emplace_back("a." + n + ".transposed", random_tensor(t, {3, 4, 6}, g).permute({2, 0, 1}));
        tensors.emplace_back("m." + n + ".scalar", random_tensor(t, {}, g));
        tensors.emplace_back("b." + n + ".empty", empty({0, 3}, t));
        tensors.emplace_back("c." + n + ".strided", random_tensor(t, {20}, g).slice(0, 1, 20, 3));
        tensors.emplace_back("e." + n + ".expanded", random_tensor(t, {3, 1}, g).expand({3, 4}));
    }
    const std::map<std::string, std::string> meta = {{"model", "deeplabv3"}, {"classes", "[\"road\", \"sky\"]"},
                                                     {"empty", ""}, {"unicode", "caf\xc3\xa9"}};
    const std::string path = d.file("all.safetensors");
    save_safetensors(path, tensors, meta);
    CHECK(d.listing() == std::vector<std::string>{"all.safetensors"});

    const SafetensorsFile f = load_safetensors(path);
    CHECK(f.metadata == meta);
    REQUIRE(f.tensors.size() == tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
        INFO(tensors[i].first);
        CHECK(f.tensors[i].first == tensors[i].first);  // order preserved, not sorted
        CHECK(f.tensors[i].second.is_contiguous());
        CHECK(f.tensors[i].second.is_cpu());
        CHECK(same_bytes(f.tensors[i].second, tensors[i].second));
    }
    CHECK(f.contains("m.f16.scalar"));
    CHECK(f.at("m.f16.scalar").dim() == 0);
    CHECK(f.at("b.u8.empty").shape() == Shape{0, 3});
    REQUIRE_THROWS_WITH(f.at("nope"), Catch::Contains("no tensor named 'nope'"));
    CHECK(f.names().front() == "z.f32.matrix");

    // Saving what was loaded reproduces the file byte for byte.
    const std::string path2 = d.file("again.safetensors");
    save_safetensors(path2, f.tensors, f.metadata);
    CHECK(read_bytes(path) == read_bytes(path2));

    // No metadata, no tensors.
    const std::string path3 = d.file("empty.safetensors");
    save_safetensors(path3, {});
    const SafetensorsFile e = load_safetensors(path3);
    CHECK(e.tensors.empty());
    CHECK(e.metadata.empty());
}

TEST_CASE("safetensors: file layout matches the reference format", "[core][safetensors]") {
    TempDir d;
    const std::string path = d.file("layout.safetensors");
    save_safetensors(path, {{"w", from_vector<float>({1, 2, 3}, {3})}, {"b", from_vector<uint8_t>({7}, {1})}},
                     {{"k", "v"}});
    const std::string bytes = read_bytes(path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    CHECK(n % 8 == 0);  // padded so the data starts 8-byte aligned
    const std::string header = bytes.substr(8, size_t(n));
    CHECK(header.find_last_not_of(' ') + 1 == header.find(' ', header.rfind('}')));
    CHECK_THAT(header, Catch::StartsWith(R"({"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"U8","shape":[1],"data_offsets":[12,13]}})"));
    CHECK(bytes.size() == 8 + n + 13);
    float w[3];
    std::memcpy(w, bytes.data() + 8 + n, 12);
    CHECK(w[0] == 1.0f);
    CHECK(w[2] == 3.0f);
    CHECK(bytes.back() == 7);

    // A file as the Python library writes it (sorted keys, padding) loads.
    std::string data(8, '\0');
    const float vals[2] = {1.5f, -2.0f};
    std::memcpy(data.data(), vals, 8);
    std::string hdr = R"({"__metadata__":{"format":"pt"},"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    hdr.append((8 - hdr.size() % 8) % 8, ' ');
    write_bytes(d.file("py.safetensors"), make_file(hdr, data));
    const SafetensorsFile f = load_safetensors(d.file("py.safetensors"));
    CHECK(f.metadata.at("format") == "pt");
    CHECK(f.at("t").get_double(1) == -2.0);
}

TEST_CASE("safetensors: the lazy reader reads only what is asked", "[core][safetensors]") {
    TempDir d;
    const std::string path = d.file("lazy.safetensors");
    Generator g(3);
    const Tensor a = randn({4, 5}, DType::BF16, &g), b = randint(0, 9, {6}, DType::I32, &g);
    save_safetensors(path, {{"a", a}, {"b", b}}, {{"epoch", "3"}});
    const SafetensorsReader r(path);
    CHECK(r.path() == path);
    REQUIRE(r.entries().size() == 2);
    CHECK(r.entries()[0].name == "a");
    CHECK(r.entries()[0].dtype == DType::BF16);
    CHECK(r.entries()[0].shape == Shape{4, 5});
    CHECK(r.entries()[0].begin == 0);
    CHECK(r.entries()[0].end == 40);
    CHECK(r.entries()[1].begin == 40);
    CHECK(r.metadata().at("epoch") == "3");
    CHECK(r.contains("b"));
    CHECK_FALSE(r.contains("c"));
    CHECK(same_bytes(r.read("b"), b));
    CHECK(same_bytes(r.read("a"), a));
    REQUIRE_THROWS_WITH(r.read("c"), Catch::Contains(path) && Catch::Contains("no tensor named 'c'") &&
                                         Catch::Contains("'a', 'b'"));
}

TEST_CASE("safetensors: invalid tensors to save are refused before any file is touched", "[core][safetensors]") {
    TempDir d;
    const std::string path = d.file("model.safetensors");
    save_safetensors(path, {{"keep", ones({2})}});
    const std::string before = read_bytes(path);
    REQUIRE_THROWS_WITH(save_safetensors(path, {{"a", ones({1})}, {"a", ones({1})}}),
                        Catch::Contains(path) && Catch::Contains("duplicate tensor name 'a'"));
    REQUIRE_THROWS_WITH(save_safetensors(path, {{"", ones({1})}}), Catch::Contains("empty name"));
    REQUIRE_THROWS_WITH(save_safetensors(path, {{"__metadata__", ones({1})}}), Catch::Contains("reserved"));
    REQUIRE_THROWS_WITH(save_safetensors(path, {{"u", Tensor()}}), Catch::Contains("'u' is undefined"));
    CHECK(read_bytes(path) == before);
    CHECK(d.listing() == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("safetensors: writes are atomic", "[core][safetensors]") {
    TempDir d;
    const std::string path = d.file("ckpt.safetensors");
    save_safetensors(path, {{"v", from_vector<float>({1, 2, 3}, {3})}}, {{"step", "1"}});
    const std::string before = read_bytes(path);

    SECTION("overwriting replaces the file and leaves no temp file") {
        save_safetensors(path, {{"v", from_vector<float>({4, 5}, {2})}}, {{"step", "2"}});
        CHECK(load_safetensors(path).metadata.at("step") == "2");
        CHECK(d.listing() == std::vector<std::string>{"ckpt.safetensors"});
    }
    SECTION("a directory that does not exist") {
        const std::string bad = d.file("no_such_dir/ckpt.safetensors");
        REQUIRE_THROWS_WITH(save_safetensors(bad, {{"v", ones({1})}}),
                            Catch::Contains(bad) && Catch::Contains("cannot create the temporary file"));
        CHECK(read_bytes(path) == before);
    }
    SECTION("a write that fails half-way (file size limit) keeps the old file") {
        // RLIMIT_FSIZE makes write() fail with EFBIG once the temp file reaches 64 KiB.
        struct rlimit old {};
        REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
        auto* old_handler = signal(SIGXFSZ, SIG_IGN);
        struct rlimit small = old;
        small.rlim_cur = 64 * 1024;
        REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
        std::string msg;
        try {
            save_safetensors(path, {{"v", zeros({1 << 20})}});
        } catch (const Error& e) {
            msg = e.what();
        }
        setrlimit(RLIMIT_FSIZE, &old);
        signal(SIGXFSZ, old_handler);
        CHECK_THAT(msg, Catch::Contains(path) && Catch::Contains("write failed"));
        CHECK(read_bytes(path) == before);
        CHECK(load_safetensors(path).metadata.at("step") == "1");
        CHECK(d.listing() == std::vector<std::string>{"ckpt.safetensors"});
    }
    SECTION("a rename that fails (the target is a directory) removes the temp file") {
        const std::string target = d.file("a_directory");
        fs::create_directories(fs::path(target) / "inside");
        REQUIRE_THROWS_WITH(save_safetensors(target, {{"v", ones({4})}}),
                            Catch::Contains(target) && Catch::Contains("cannot rename"));
        CHECK(fs::is_directory(fs::path(target) / "inside"));
        CHECK(d.listing() == std::vector<std::string>{"a_directory", "ckpt.safetensors"});
        CHECK(read_bytes(path) == before);
    }
}

// ---------------------------------------------------------------- corrupt files: one per problem

TEST_CASE("safetensors: a missing file or a directory", "[core][safetensors][corrupt]") {
    TempDir d;
    const std::string missing = d.file("missing.safetensors");
    REQUIRE_THROWS_WITH(load_safetensors(missing), Catch::Contains(missing) && Catch::Contains("cannot open"));
    REQUIRE_THROWS_WITH(SafetensorsReader(d.dir.string()), Catch::Contains("not a regular file"));
}

TEST_CASE("safetensors: file shorter than 8 bytes", "[core][safetensors][corrupt]") {
    TempDir d;
    for (size_t n : {0, 1, 7}) {
        const std::string err = load_error(d, std::string(n, '\x01'), "short.safetensors");
        CHECK_THAT(err, Catch::Contains(d.file("short.safetensors")) && Catch::Contains("shorter than the 8-byte header length"));
    }
}

TEST_CASE("safetensors: header length larger than the file", "[core][safetensors][corrupt]") {
    TempDir d;
    CHECK_THAT(load_error(d, le64(1000) + "{}"), Catch::Contains(d.file("bad.safetensors")) &&
                                                     Catch::Contains("header length 1000 is larger than the file"));
    CHECK_THAT(load_error(d, le64(~uint64_t(0)) + "{}      "), Catch::Contains("is larger than the file"));
    CHECK_THAT(load_error(d, le64(0)), Catch::Contains("too small"));
}

TEST_CASE("safetensors: invalid JSON", "[core][safetensors][corrupt]") {
    TempDir d;
    CHECK_THAT(load_error(d, make_file("{not json}", "")),
               Catch::Contains(d.file("bad.safetensors")) && Catch::Contains("not valid JSON"));
    CHECK_THAT(load_error(d, make_file(std::string("{\"a\xff\": 1}"), "")), Catch::Contains("not valid JSON"));
    CHECK_THAT(load_error(d, make_file("[1, 2]", "")), Catch::Contains("must start with '{'"));
    CHECK_THAT(load_error(d, make_file("  {}", "")), Catch::Contains("must start with '{'"));
    CHECK(load_error(d, make_file("{}      ", "")).empty());  // padding after the JSON is allowed
    CHECK_THAT(load_error(d, make_file(R"({"x": 5})", "")), Catch::Contains("entry for tensor 'x' must be an object"));
}

TEST_CASE("safetensors: unknown dtype", "[core][safetensors][corrupt]") {
    TempDir d;
    const std::string err =
        load_error(d, make_file(R"({"x":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", "ab"));
    CHECK_THAT(err, Catch::Contains(d.file("bad.safetensors")) && Catch::Contains("tensor 'x'") &&
                        Catch::Contains("unsupported dtype 'F8_E4M3'"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":7,"shape":[],"data_offsets":[0,4]}})", "abcd")),
               Catch::Contains("no string \"dtype\""));
}

TEST_CASE("safetensors: shape/offset inconsistency", "[core][safetensors][corrupt]") {
    TempDir d;
    const std::string err =
        load_error(d, make_file(R"({"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", std::string(24, 'x')));
    CHECK_THAT(err, Catch::Contains(d.file("bad.safetensors")) && Catch::Contains("shape/offset mismatch") &&
                        Catch::Contains("span 20 bytes but f32 (2, 3) needs 24"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,24]}})", std::string(24, 'x'))),
               Catch::Contains("invalid shape"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", std::string(8, 'x'))),
               Catch::Contains("invalid shape"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"F32","shape":3,"data_offsets":[0,12]}})", std::string(12, 'x'))),
               Catch::Contains("no \"shape\" array"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", std::string(8, 'x'))),
               Catch::Contains("overflows"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", "abcd")),
               Catch::Contains("at most 8"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"F32","shape":[1]}})", "abcd")),
               Catch::Contains("data_offsets"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", "abcd")),
               Catch::Contains("data_offsets"));
}

TEST_CASE("safetensors: offsets out of range", "[core][safetensors][corrupt]") {
    TempDir d;
    const std::string err =
        load_error(d, make_file(R"({"x":{"dtype":"F32","shape":[6],"data_offsets":[16,40]}})", std::string(24, 'x')));
    CHECK_THAT(err, Catch::Contains(d.file("bad.safetensors")) && Catch::Contains("tensor 'x'") &&
                        Catch::Contains("out of range") && Catch::Contains("holds only 24 bytes"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}})", std::string(8, 'x'))),
               Catch::Contains("begin after end"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", std::string(8, 'x'))),
               Catch::Contains("data_offsets"));
    CHECK_THAT(load_error(d, make_file(R"({"x":{"dtype":"U8","shape":[0],"data_offsets":[99,99]}})", "")),
               Catch::Contains("out of range"));
}

TEST_CASE("safetensors: overlapping offsets", "[core][safetensors][corrupt]") {
    TempDir d;
    const std::string err = load_error(
        d, make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                     std::string(24, 'x')));
    CHECK_THAT(err, Catch::Contains(d.file("bad.safetensors")) && Catch::Contains("'a' [0, 16) and 'b' [8, 24)") &&
                        Catch::Contains("overlapping"));
    // Empty tensors take no bytes but still sit in sequence, as the reference requires: at 0 or
    // where another tensor ends, not inside one.
    CHECK(load_error(d, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"f":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})",
                                  std::string(8, 'x'))) == "");
    CHECK_THAT(load_error(d, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                                       std::string(8, 'x'))),
               Catch::Contains("overlapping"));
    CHECK_THAT(load_error(d, make_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
                                       std::string(4, 'x'))),
               Catch::Contains("overlapping"));
}

TEST_CASE("safetensors: truncated data section", "[core][safetensors][corrupt]") {
    TempDir d;
    const std::string good = d.file("good.safetensors");
    save_safetensors(good, {{"a", ones({10})}, {"b", ones({10}, DType::F64)}});
    const std::string bytes = read_bytes(good);
    const std::string err = load_error(d, bytes.substr(0, bytes.size() - 5), "cut.safetensors");
    CHECK_THAT(err, Catch::Contains(d.file("cut.safetensors")) && Catch::Contains("tensor 'b'") &&
                        Catch::Contains("truncated"));
    // Cut inside the header.
    CHECK_THAT(load_error(d, bytes.substr(0, 20), "cut2.safetensors"), Catch::Contains("larger than the file"));
}

TEST_CASE("safetensors: duplicate names", "[core][safetensors][corrupt]") {
    TempDir d;
    const std::string err = load_error(
        d, make_file(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                     "ab"));
    CHECK_THAT(err, Catch::Contains(d.file("bad.safetensors")) && Catch::Contains("duplicate key 'w'"));
    CHECK_THAT(load_error(d, make_file(R"({"__metadata__":{"k":"1","k":"2"}})", "")),
               Catch::Contains("duplicate key '__metadata__.k'"));
}

TEST_CASE("safetensors: non-string metadata", "[core][safetensors][corrupt]") {
    TempDir d;
    const std::string err = load_error(d, make_file(R"({"__metadata__":{"epoch":3}})", ""));
    CHECK_THAT(err, Catch::Contains(d.file("bad.safetensors")) && Catch::Contains("non-string metadata") &&
                        Catch::Contains("'epoch'"));
    CHECK_THAT(load_error(d, make_file(R"({"__metadata__":["a"]})", "")), Catch::Contains("__metadata__ must be an object"));
}

TEST_CASE("safetensors: BOOL bytes other than 0/1 are refused", "[core][safetensors][corrupt]") {
    TempDir d;
    CHECK_THAT(load_error(d, make_file(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\x01\x00\x07", 3))),
               Catch::Contains("holds byte 7 at element 2"));
}

TEST_CASE("safetensors: garbage never crashes", "[core][safetensors][corrupt]") {
    TempDir d;
    std::mt19937_64 rng(5);
    const std::string good = d.file("good.safetensors");
    save_safetensors(good, {{"a", ones({3, 3})}, {"b", zeros({4}, DType::I64)}, {"c", zeros({2}, DType::Bool)}},
                     {{"k", "v"}});
    const std::string bytes = read_bytes(good);
    const std::string path = d.file("fuzz.safetensors");
    int loaded = 0, refused = 0;
    for (int it = 0; it < 600; ++it) {
        std::string f = bytes;
        const int kind = it % 4;
        if (kind == 0) {  // flip a few bytes anywhere
            for (int k = 0; k < 3; ++k) f[rng() % f.size()] = char(rng());
        } else if (kind == 1) {  // truncate
            f.resize(rng() % f.size());
        } else if (kind == 2) {  // random bytes with a plausible length
            f = le64(rng() % 64);
            for (int k = 0, n = int(rng() % 80); k < n; ++k) f += char(rng());
        } else {  // flip a byte inside the header text
            f[8 + rng() % (f.size() - 8 - 88)] = "{}[]\",:0123456789-e. x"[rng() % 22];
        }
        write_bytes(path, f);
        try {
            (void)load_safetensors(path);
            loaded++;
        } catch (const Error& e) {
            refused++;
            REQUIRE_THAT(e.what(), Catch::Contains(path));
        }
    }
    CHECK(refused > 300);
    CHECK(loaded + refused == 600);
}

TEST_CASE("safetensors: the tensors must cover the data section exactly", "[core][safetensors][corrupt]") {
    TempDir d;
    // A saved file whose header ends in padding spaces: one byte less of header length then still
    // parses, and used to load with every tensor shifted by a byte.
    std::string bytes;
    uint64_t n = 0;
    for (std::string value = "v"; n == 0 || bytes[8 + n - 1] != ' '; value += "v") {
        const std::string good = d.file("good.safetensors");
        save_safetensors(good, {{"a", from_vector<float>({1, 2, 3}, {3})}, {"b", from_vector<int64_t>({4, 5}, {2})}},
                         {{"k", value}});
        bytes = read_bytes(good);
        n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[size_t(i)]);
    }
    REQUIRE(load_error(d, bytes).empty());
    const std::string path = d.file("bad.safetensors");
    CHECK_THAT(load_error(d, le64(n - 1) + bytes.substr(8)),
               Catch::Contains(path) && Catch::Contains("holds 29 bytes but the tensors cover 28") &&
                   Catch::Contains("1 unexpected trailing bytes"));
    for (uint64_t k = 1; k <= 16; ++k) {  // any other header length is refused too
        INFO("header length off by " << k);
        CHECK_THAT(load_error(d, le64(n - k) + bytes.substr(8)), Catch::Contains(path));
        CHECK_THAT(load_error(d, le64(n + k) + bytes.substr(8)), Catch::Contains(path));
    }
    // Bytes appended after the data.
    CHECK_THAT(load_error(d, bytes + std::string(1, '\0')), Catch::Contains("1 unexpected trailing bytes"));
    CHECK_THAT(load_error(d, bytes + bytes), Catch::Contains("unexpected trailing bytes"));
    // A gap between tensors, or before the first.
    CHECK_THAT(load_error(d, make_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
                                       std::string(6, 'x'))),
               Catch::Contains("tensor 'b' begins at byte 4") && Catch::Contains("a gap of 2 bytes"));
    CHECK_THAT(load_error(d, make_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", std::string(4, 'x'))),
               Catch::Contains("tensor 'a' begins at byte 2"));
    // File order need not be offset order.
    CHECK(load_error(d, make_file(R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
                                  std::string(4, 'x')))
              .empty());
}

TEST_CASE("safetensors: a deeply nested header is a clean error", "[core][safetensors][corrupt]") {
    TempDir d;
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
    deep += "1";
    deep += std::string(100000, '}');
    CHECK_THAT(load_error(d, make_file(deep, "")), Catch::Contains(d.file("bad.safetensors")) && Catch::Contains("nested deeper"));
    CHECK_THAT(load_error(d, make_file("{\"__metadata__\":" + std::string(100000, '['), "")), Catch::Contains("nested deeper"));
}
