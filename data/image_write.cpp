// JPEG writing through stb_image_write (compiled here: STB_IMAGE_WRITE_IMPLEMENTATION, see
// image_read.cpp for why we compile stb ourselves). PNG writers live in png_codec.cpp (libpng:
// palette and 16-bit PNGs).
#include <vector>

#include "core/error.h"
#include "data/file_util.h"
#include "data/image_io.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb_image_write.h>
#pragma GCC diagnostic pop

namespace segcore::data {

namespace {

struct JpegBuffer {
    std::vector<uint8_t> bytes;
    bool failed = false;
};

void append_to_buffer(void* context, void* data, int size) {
    auto* b = static_cast<JpegBuffer*>(context);
    try {
        const auto* p = static_cast<const uint8_t*>(data);
        b->bytes.insert(b->bytes.end(), p, p + size);
    } catch (...) {  // stb is C: nothing may unwind through it
        b->failed = true;
    }
}

}  // namespace

void write_jpeg(const std::string& path, const Image& img, int quality) {
    SEGCORE_CHECK(img.channels >= 1 && img.channels <= 4, "cannot write '", path,
                  "': JPEG needs 1 to 4 channels (alpha is dropped), got ", img.channels);
    SEGCORE_CHECK(img.height > 0 && img.width > 0 && img.height <= 65535 && img.width <= 65535, "cannot write '", path,
                  "': JPEG sizes are 1..65535, got ", img.width, "x", img.height);
    SEGCORE_CHECK(int64_t(img.pixels.size()) == img.height * img.width * img.channels, "cannot write '", path,
                  "': the image has ", img.pixels.size(), " bytes for ", img.width, "x", img.height, "x", img.channels);
    SEGCORE_CHECK(quality >= 1 && quality <= 100, "cannot write '", path, "': JPEG quality must be 1..100, got ",
                  quality);
    JpegBuffer buf;
    const int ok = stbi_write_jpg_to_func(append_to_buffer, &buf, int(img.width), int(img.height), int(img.channels),
                                          img.pixels.data(), quality);
    SEGCORE_CHECK(ok && !buf.failed, "cannot write '", path, "': JPEG encoding failed");
    write_file_atomic(path, buf.bytes.data(), buf.bytes.size());
}

}  // namespace segcore::data
