#pragma once
// Reading and writing images and label masks.
//   images: JPEG/PNG/BMP through stb_image (decoded to 8-bit HWC). Only these three decoders are
//           compiled in: formats without a magic number (TGA) would accept almost any file.
//   masks:  PNG through libpng, so a palette PNG is read as its palette *indices* (stb_image
//           would expand it to RGB and lose the classes); 1/2/4/8- and 16-bit grey PNGs are read as
//           values (alpha is dropped). Colour masks (RGB/RGBA PNG) are read by read_mask_file /
//           read_mask_rgb and mapped to classes through a palette (rgb_to_mask). BMP/JPEG masks are
//           accepted through stb_image (one channel: values; more: colours).
// Every error is a segcore::Error that names the file and says what was wrong (missing, empty, not
// an image, truncated, corrupt, too large, ...). Declared dimensions are checked against
// kMaxImagePixels before anything is decoded (image bombs). A truncated JPEG (no EOI marker) or
// BMP (pixel array past the end of the file) is an error even though stb_image would fill the
// missing part with zeros.
// Writers are atomic (temp file + fsync + rename) so a crash never leaves half a PNG behind.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace segcore::data {

using Palette = std::vector<std::array<uint8_t, 3>>;

// Images larger than this many pixels are refused before decoding (image bombs).
inline constexpr int64_t kMaxImagePixels = int64_t(1) << 28;  // 268M pixels, e.g. 16384 x 16384

// channels: 0 = as stored; 1 = grey; 3 = RGB (the default for training images); 4 = RGBA.
Image read_image(const std::string& path, int channels = 3);

// An image's header: size and channels as stored, without decoding the pixels.
struct ImageInfo {
    int64_t height = 0, width = 0;
    int channels = 0;
    std::string format;  // "PNG", "JPEG", "BMP"
};
ImageInfo read_image_info(const std::string& path);

// What a mask file holds before any dataset-specific mapping: either one value per pixel
// (palette indices or grey values) or colours.
struct MaskFile {
    Mask values;       // palette / grey masks; empty for colour masks
    Image rgb;         // colour masks (3 channels, alpha dropped); empty otherwise
    std::string kind;  // e.g. "palette PNG", "8-bit grey PNG", "16-bit grey PNG", "RGB PNG", "BMP"
    bool is_rgb() const { return !rgb.empty(); }
};
MaskFile read_mask_file(const std::string& path);

// A label mask as stored: palette PNG -> indices, grey 8/16-bit -> values. A colour (RGB/RGBA)
// mask is an error here naming the file (a dataset with colour masks sets mask_encoding "rgb").
Mask read_mask(const std::string& path);

// A colour mask as RGB: RGB(A) PNGs as stored, palette PNGs expanded through their palette, grey
// replicated to three channels.
Image read_mask_rgb(const std::string& path);

// Colour -> class index through `palette` (entry i is the colour of class i). Colours that are
// not in the palette map to `unknown` when it is >= 0, else they are an error naming `path`, the
// colour and how many pixels have it. When two entries share a colour the first wins.
Mask rgb_to_mask(const Image& rgb, const Palette& palette, const std::string& path, int32_t unknown = -1);

void write_png(const std::string& path, const Image& img);                     // grey, grey+alpha, RGB or RGBA
void write_jpeg(const std::string& path, const Image& img, int quality = 95);  // grey or RGB (alpha dropped)
void write_index_png(const std::string& path, const Mask& mask);               // 8-bit grey (16 if needed)
// Palette PNG: the palette is padded with black up to the largest label (e.g. 255 = ignore), so
// every index is valid. Labels must be in [0, 255].
void write_palette_png(const std::string& path, const Mask& mask, const Palette& palette);

}  // namespace segcore::data
