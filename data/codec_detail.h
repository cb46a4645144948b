#pragma once
// Internal to data/: the pieces image_read.cpp (stb_image) and png_codec.cpp (libpng) share.
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace segcore::data::detail {

enum class FileFormat { Unknown, Png, Jpeg, Bmp };

// By magic number, never by extension (a .png that holds a JPEG decodes as the JPEG it is).
FileFormat sniff_format(const uint8_t* data, size_t size);
const char* format_name(FileFormat f);

// Reads the file and checks it is non-empty; errors name the path.
std::vector<uint8_t> read_image_file(const std::string& path);

// Throws naming `path` when height x width is not positive or exceeds kMaxImagePixels.
void check_dimensions(int64_t height, int64_t width, const std::string& path);

// stb_image decoding of JPEG/PNG/BMP bytes (header checked and bomb-checked first).
Image decode_with_stb(const std::vector<uint8_t>& bytes, FileFormat f, const std::string& path, int channels);

// libpng decoding of a PNG mask. want_rgb = false: palette/grey PNGs -> values, colour PNGs ->
// rgb. want_rgb = true: always rgb (palette expanded, grey replicated).
MaskFile decode_png_mask(const std::vector<uint8_t>& bytes, const std::string& path, bool want_rgb);

}  // namespace segcore::data::detail
