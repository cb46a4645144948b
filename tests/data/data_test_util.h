#pragma once
// Helpers for the data/ suites: a temporary folder removed at scope exit, small synthetic images
// and masks, and raw file writes.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/image.h"

namespace segcore::test {

class TempDir {
public:
    // base: where to create it (default: the system temp folder). Suites that write thousands of
    // files pass shm_or_tmp() to keep them in memory.
    explicit TempDir(const std::string& base = "") {
        const std::filesystem::path parent = base.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(base);
        std::string tmpl = (parent / "segcore-data-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }
    // Creates the parent folders of rel and returns the full path.
    std::string file(const std::string& rel) const {
        const std::string p = path_ + "/" + rel;
        std::filesystem::create_directories(std::filesystem::path(p).parent_path());
        return p;
    }

private:
    std::string path_;
};

// /dev/shm when it is a writable folder (Linux), else the system temp folder.
inline std::string shm_or_tmp() {
    std::error_code ec;
    if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
    return std::filesystem::temp_directory_path().string();
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A deterministic test pattern: smooth gradients (JPEG-friendly) plus a little structure.
inline data::Image pattern_image(int64_t h, int64_t w, int64_t c) {
    data::Image img;
    img.height = h;
    img.width = w;
    img.channels = c;
    img.pixels.resize(size_t(h * w * c));
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int64_t k = 0; k < c; ++k)
                img.at(y, x)[k] = uint8_t((x * 255 / std::max<int64_t>(w - 1, 1) + y * 3 + k * 60) % 256);
    return img;
}

// Labels in blocks: label (y / 4 + x / 4) % classes, with `ignore` on the first row when >= 0.
inline data::Mask pattern_mask(int64_t h, int64_t w, int32_t classes, int32_t ignore = -1) {
    data::Mask m;
    m.height = h;
    m.width = w;
    m.labels.resize(size_t(h * w));
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            m.at(y, x) = (y == 0 && ignore >= 0) ? ignore : int32_t((y / 4 + x / 4) % classes);
    return m;
}

}  // namespace segcore::test
