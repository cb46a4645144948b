// Seeded mutation fuzzing of the readers of the files segcore is handed: the config reader
// (load_config_file + parse_train_config), the model-file reader (load_model_file) and the
// checkpoint reader (the trainer's resume). Every mutated file must load or throw segcore::Error:
// never crash, hang, or throw anything else. Every safetensors file that loads must also be
// exactly well-formed (checked here independently of core/safetensors.cpp): the readers accept
// nothing the format forbids. The seeds are real files written by the code under test (a tiny
// model, a trainer checkpoint after two steps, the shipped configs); the mutations are bit flips,
// truncations, inserted and duplicated bytes, header lengths off by a few bytes, deep nesting and
// huge numbers. SEGCORE_FUZZ_ITERATIONS (default 1000 per reader, a fifth of that for the
// slower checkpoint reader) and SEGCORE_FUZZ_SEED override the defaults; run a sanitizer build
// with many iterations to hunt for bugs (docs/building.md).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "core/error.h"
#include "core/safetensors.h"
#include "seg/models/model_file.h"
#include "seg/models/registry.h"
#include "seg/train/config_file.h"
#include "seg/train/trainer.h"
#include "tests/test_util.h"
#include "train_test_util.h"

using namespace segcore;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

fs::path repo_dir() { return test::source_dir(); }

int iterations() {
    const char* env = std::getenv("SEGCORE_FUZZ_ITERATIONS");
    return env ? std::max(1, std::atoi(env)) : 1000;
}

uint32_t fuzz_seed() {
    const char* env = std::getenv("SEGCORE_FUZZ_SEED");
    return env ? uint32_t(std::strtoul(env, nullptr, 10)) : 20261207u;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

uint64_t le64_at(const std::string& b) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(b[size_t(i)]);
    return n;
}

std::string le64(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[size_t(i)] = char(uint8_t(v >> (8 * i)));
    return s;
}

size_t pick(std::mt19937& rng, size_t n) { return n == 0 ? 0 : size_t(rng() % n); }

// Mutations that know nothing of the format.
std::string mutate_bytes(std::string b, std::mt19937& rng) {
    static const char* kHuge[] = {"18446744073709551616", "1e999", "-9223372036854775809", "99999999999999999999999",
                                  "-1", "0", "2.5", "4294967296"};
    switch (rng() % 8) {
        case 0:  // flip a few bits
            for (int k = 0, n = 1 + int(rng() % 4); k < n && !b.empty(); ++k)
                b[pick(rng, b.size())] ^= char(1 << (rng() % 8));
            break;
        case 1: b.resize(pick(rng, b.size())); break;  // truncate
        case 2: {  // insert random bytes
            std::string ins;
            for (int k = 0, n = 1 + int(rng() % 8); k < n; ++k) ins += char(rng());
            b.insert(pick(rng, b.size() + 1), ins);
            break;
        }
        case 3: {  // duplicate a slice (repeats keys, values, tensor bytes)
            const size_t at = pick(rng, b.size()), len = std::min(b.size() - at, size_t(1 + rng() % 64));
            b.insert(pick(rng, b.size() + 1), b.substr(at, len));
            break;
        }
        case 4:  // a JSON-ish character anywhere
            if (!b.empty()) b[pick(rng, b.size())] = "{}[]\",:0123456789-e. \\/x\n"[rng() % 25];
            break;
        case 5: {  // deep nesting
            const size_t depth = std::vector<size_t>{129, 1000, 100000}[rng() % 3];
            b.insert(pick(rng, b.size() + 1), std::string(depth, rng() % 2 ? '[' : '{'));
            break;
        }
        case 6: {  // a number replaced by a huge, negative or fractional one
            const size_t at = b.find_first_of("0123456789", pick(rng, b.size()));
            if (at == std::string::npos) break;
            const size_t end = b.find_first_not_of("0123456789", at);
            b.replace(at, (end == std::string::npos ? b.size() : end) - at, kHuge[rng() % 8]);
            break;
        }
        default: {  // a byte removed
            if (!b.empty()) b.erase(pick(rng, b.size()), 1);
            break;
        }
    }
    return b;
}

// Mutations of a safetensors file: header length off by a few bytes, the header text mutated
// with its length fixed up (so the mutation reaches the JSON and the checks behind it), the data
// section mutated, or anything else.
std::string mutate_safetensors(const std::string& file, std::mt19937& rng) {
    const uint64_t n = le64_at(file);
    const std::string header = file.substr(8, size_t(n)), data = file.substr(8 + size_t(n));
    switch (rng() % 4) {
        case 0: {
            const uint64_t k = 1 + rng() % 16;
            return le64(rng() % 2 ? n + k : n - k) + file.substr(8);
        }
        case 1: {
            const std::string h = mutate_bytes(header, rng);
            return le64(h.size()) + h + data;
        }
        case 2: {  // flip bits in the weights: NaN and Inf appear, the structure stays valid
            std::string d = data;
            for (int k = 0, m = 1 + int(rng() % 8); k < m && !d.empty(); ++k)
                d[pick(rng, d.size())] ^= char(1 << (rng() % 8));
            return file.substr(0, 8 + size_t(n)) + d;
        }
        default: return mutate_bytes(file, rng);
    }
}

// The safetensors rules, written out again so the test does not trust the reader it checks: ""
// when `b` is exactly well-formed, else why not.
std::string why_not_well_formed(const std::string& b) {
    if (b.size() < 8) return "shorter than 8 bytes";
    const uint64_t n = le64_at(b);
    if (n > b.size() - 8 || n > 100'000'000) return "header length out of range";
    const std::string text = b.substr(8, size_t(n));
    if (text.empty() || text[0] != '{' || text.find('\0') != std::string::npos) return "header start";
    json h;
    try {
        h = json::parse(text);
    } catch (const json::exception& e) {
        return std::string("header JSON: ") + e.what();
    }
    const std::map<std::string, uint64_t> size = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                                  {"I32", 4}, {"U8", 1},  {"BOOL", 1}};
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    try {
        for (const auto& [name, e] : h.items()) {
            if (name == "__metadata__") {
                for (const auto& [k, v] : e.items())
                    if (!v.is_string()) return "metadata " + k;
                continue;
            }
            if (!size.count(e.at("dtype").get<std::string>())) return "dtype of " + name;
            uint64_t bytes = size.at(e.at("dtype").get<std::string>());
            for (const auto& d : e.at("shape")) bytes *= d.get<uint64_t>();
            const auto off = e.at("data_offsets");
            const uint64_t begin = off.at(0).get<uint64_t>(), end = off.at(1).get<uint64_t>();
            if (end < begin || end - begin != bytes) return "byte count of " + name;
            ranges.emplace_back(begin, end);
        }
    } catch (const json::exception& e) {
        return std::string("header entries: ") + e.what();
    }
    std::sort(ranges.begin(), ranges.end());
    uint64_t covered = 0;
    for (const auto& [begin, end] : ranges) {
        if (begin != covered) return "gap or overlap at " + std::to_string(begin);
        covered = end;
    }
    if (covered != b.size() - 8 - n) return "data section not covered exactly";
    return "";
}

// Runs one load. Returns true when it succeeded, false when it threw segcore::Error; anything else
// fails the test, naming the iteration's mutation.
bool loads(const std::function<void()>& load) {
    try {
        load();
        return true;
    } catch (const Error&) {
        return false;
    } catch (const std::exception& e) {
        FAIL("threw something other than segcore::Error: " << e.what());
    }
    return false;
}

struct Tally {
    int loaded = 0, refused = 0;
    void add(bool ok) { ++(ok ? loaded : refused); }
};

seg::TrainerOptions resume_from(const std::string& path) {
    seg::TrainerOptions o;
    o.quiet = true;
    o.resume = path;
    return o;
}

}  // namespace

TEST_CASE("file fuzz: the config reader loads or throws segcore::Error", "[train][fuzz]") {
    test::TempDir d;
    // A shipped recipe with its base (copied beside the mutated file so "base" resolves) and the
    // tiny test config with a comment.
    const fs::path configs = repo_dir() / "configs";
    fs::create_directories(fs::path(d.path()) / "base");
    fs::copy_file(configs / "base/camvid.json", fs::path(d.path()) / "base/camvid.json");
    const std::vector<std::string> seeds = {"// a tiny run\n" + test::tiny_config(d.path()).dump(2),
                                            read_text((configs / "camvid_unet.json").string()),
                                            read_text((configs / "demo.json").string())};
    for (const std::string& s : seeds) REQUIRE(s.size() > 100);
    std::mt19937 rng(fuzz_seed());
    const std::string path = d / "fuzz.json";
    Tally t;
    for (int it = 0, n = iterations(); it < n; ++it) {
        const std::string bytes = mutate_bytes(seeds[size_t(it) % seeds.size()], rng);
        write_text(path, bytes);
        INFO("iteration " << it << ", seed " << it % seeds.size() << ": " << bytes.substr(0, 300));
        t.add(loads([&] { (void)seg::parse_train_config(seg::load_config_file(path), d.path(), "fuzz"); }));
    }
    CHECK(t.refused > t.loaded / 4);
    CHECK(t.loaded > 0);
    WARN("config fuzz: " << t.loaded << " loaded, " << t.refused << " refused");
}

TEST_CASE("file fuzz: the model-file reader loads or throws, and what loads is well-formed", "[train][fuzz]") {
    test::TempDir d;
    const json spec = {{"name", "unet"}, {"num_classes", 3}, {"depth", 1}, {"base_width", 4}};
    const std::string good = d / "model.safetensors";
    seg::save_model_file(*seg::build_model(spec), spec, good, {{"classes", R"(["a", "b", "c"])"}});
    const std::string seed = read_text(good);
    REQUIRE(why_not_well_formed(seed).empty());
    std::mt19937 rng(fuzz_seed() + 1);
    const std::string path = d / "fuzz.safetensors";
    Tally t;
    for (int it = 0, n = iterations(); it < n; ++it) {
        const std::string bytes = mutate_safetensors(seed, rng);
        write_text(path, bytes);
        INFO("iteration " << it << ", " << bytes.size() << " bytes (the seed has " << seed.size() << ")");
        const bool ok = loads([&] { (void)seg::load_model_file(path); });
        t.add(ok);
        if (ok) REQUIRE(why_not_well_formed(bytes).empty());
    }
    CHECK(t.refused > t.loaded);
    CHECK(t.loaded > 0);
    WARN("model-file fuzz: " << t.loaded << " loaded, " << t.refused << " refused");
}

TEST_CASE("file fuzz: the checkpoint reader (resume) loads or throws, and what loads is well-formed", "[train][fuzz]") {
    test::TempDir d;
    json cfg = test::tiny_config(d.path());
    cfg["train"]["iters"] = 2;
    cfg["eval"]["interval"] = 2;
    const std::string checkpoint = seg::Trainer(test::parse(cfg), resume_from("")).fit().last_checkpoint;
    const std::string seed = read_text(checkpoint);
    REQUIRE(why_not_well_formed(seed).empty());

    const seg::TrainConfig resumed = test::parse(cfg);  // the same config: no "changed config" warnings
    std::mt19937 rng(fuzz_seed() + 2);
    const std::string path = d / "fuzz.safetensors";
    Tally t;
    for (int it = 0, n = std::max(1, iterations() / 5); it < n; ++it) {
        const std::string bytes = mutate_safetensors(seed, rng);
        write_text(path, bytes);
        INFO("iteration " << it << ", " << bytes.size() << " bytes (the seed has " << seed.size() << ")");
        const bool ok = loads([&] { seg::Trainer trainer(resumed, resume_from(path)); });
        t.add(ok);
        if (ok) REQUIRE(why_not_well_formed(bytes).empty());
    }
    CHECK(t.refused > 0);
    WARN("checkpoint fuzz: " << t.loaded << " loaded, " << t.refused << " refused");
}
