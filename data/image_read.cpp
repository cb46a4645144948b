// Image decoding through stb_image, plus the checks stb_image does not make.
//
// Why compile stb_image here (STB_IMAGE_IMPLEMENTATION in this one file) instead of linking
// Debian's libstb: we choose its configuration — only the JPEG, PNG and BMP decoders (formats
// without a magic number, like TGA, would "decode" any file), no stdio (we read the bytes
// ourselves, so errors name the file), a dimension limit — and the binary does not depend on the
// libstb0 runtime package being installed where it runs (GPU machines often lack it).
//
// Checks made before stb_image sees the file (by read_image and read_image_info alike):
//   - the format, by magic number;
//   - the declared size (stbi_info) against kMaxImagePixels: an image bomb is refused before any
//     allocation;
//   - JPEG: the marker structure must reach an EOI marker (stb_image decodes a truncated JPEG
//     "successfully", padding it with grey), and Huffman tables must hold at most 256 codes
//     (stb_image 2.27 overflows a table otherwise: found by tests/data/test_decoder_fuzz.cpp);
//   - BMP: the pixel array must fit in the file (stb_image pads a truncated BMP with zeros);
//   - PNG: every chunk up to IEND must be complete and match its CRC (stb_image checks no CRC).
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "data/codec_detail.h"
#include "data/file_util.h"
#include "data/image_io.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS (1 << 24)
#define STBI_ASSERT(x) ((void)0)  // stb asserts only on internal invariants; never abort on input
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb_image.h>
#pragma GCC diagnostic pop

namespace segcore::data {

namespace detail {

FileFormat sniff_format(const uint8_t* d, size_t n) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && std::memcmp(d, png_sig, 8) == 0) return FileFormat::Png;
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return FileFormat::Jpeg;
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return FileFormat::Bmp;
    return FileFormat::Unknown;
}

const char* format_name(FileFormat f) {
    switch (f) {
        case FileFormat::Png:
            return "PNG";
        case FileFormat::Jpeg:
            return "JPEG";
        case FileFormat::Bmp:
            return "BMP";
        default:
            return "unknown";
    }
}

std::vector<uint8_t> read_image_file(const std::string& path) {
    std::vector<uint8_t> bytes = read_file_bytes(path);
    SEGCORE_CHECK(!bytes.empty(), "image file '", path, "' is empty (0 bytes)");
    return bytes;
}

void check_dimensions(int64_t height, int64_t width, const std::string& path) {
    SEGCORE_CHECK(height > 0 && width > 0, "image file '", path, "' declares an empty size ", width, "x", height);
    SEGCORE_CHECK(height <= kMaxImagePixels / width, "image file '", path, "' declares ", width, "x", height,
                  " pixels, more than the limit of ", kMaxImagePixels,
                  " (kMaxImagePixels): refusing to decode it (corrupt header or image bomb?)");
}

}  // namespace detail

namespace {

using detail::FileFormat;

std::string hex_prefix(const std::vector<uint8_t>& b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < b.size() && i < 8; ++i) {
        if (i) s += ' ';
        s += digits[b[i] >> 4];
        s += digits[b[i] & 15];
    }
    return s;
}

// A DHT segment: tables of (class/id byte, 16 code counts, the symbols). stb_image 2.27 writes past
// its 257-entry size table when the counts add up to more than 256 (fixed upstream in 2.28), so
// such a table is refused here, before stb_image sees it.
void check_jpeg_huffman_tables(const uint8_t* p, size_t len, const std::string& path) {
    size_t pos = 0;
    while (pos < len) {
        SEGCORE_CHECK(len - pos >= 17, "JPEG file '", path, "' is corrupt: a Huffman table header is cut short");
        const uint8_t q = p[pos];
        SEGCORE_CHECK((q >> 4) <= 1 && (q & 15) <= 3, "JPEG file '", path, "' is corrupt: bad Huffman table id ",
                      int(q));
        size_t n = 0;
        for (int i = 1; i <= 16; ++i) n += p[pos + size_t(i)];
        SEGCORE_CHECK(n <= 256, "JPEG file '", path, "' is corrupt: a Huffman table declares ", n,
                      " codes (at most 256)");
        SEGCORE_CHECK(len - pos - 17 >= n, "JPEG file '", path, "' is corrupt: a Huffman table runs past its segment");
        pos += 17 + n;
    }
}

// Walks the marker segments of a JPEG up to EOI. Entropy-coded data after SOS is skipped byte by
// byte: inside it 0xFF is always followed by 0x00 (stuffing) or a restart marker, so the next
// other marker ends the scan. Markers skip APPn segments by their length, so an EXIF thumbnail
// (a whole JPEG with its own EOI inside APP1) cannot fake the end of the main image.
void check_jpeg_complete(const std::vector<uint8_t>& d, const std::string& path) {
    const size_t n = d.size();
    size_t pos = 2;  // after SOI
    for (;;) {
        // Tolerate junk between segments (libjpeg warns about "extraneous bytes"), then fill bytes.
        while (pos < n && d[pos] != 0xff) ++pos;
        while (pos < n && d[pos] == 0xff) ++pos;
        SEGCORE_CHECK(pos < n, "JPEG file '", path, "' is truncated: it ends before the end-of-image marker");
        const uint8_t m = d[pos++];
        if (m == 0xd9) return;                                // EOI
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd8)) continue;  // standalone markers (TEM, RSTn, SOI)
        SEGCORE_CHECK(pos + 2 <= n, "JPEG file '", path, "' is truncated inside a marker segment");
        const size_t len = (size_t(d[pos]) << 8) | d[pos + 1];
        SEGCORE_CHECK(len >= 2, "JPEG file '", path, "' is corrupt: marker 0xff", int(m), " has length ", len);
        SEGCORE_CHECK(pos + len <= n, "JPEG file '", path, "' is truncated: a marker segment of ", len,
                      " bytes runs past the end of the file (", n, " bytes)");
        if (m == 0xc4) check_jpeg_huffman_tables(&d[pos + 2], len - 2, path);
        pos += len;
        if (m != 0xda) continue;  // not SOS
        for (;;) {
            SEGCORE_CHECK(pos + 1 < n, "JPEG file '", path, "' is truncated inside the compressed image data");
            if (d[pos] != 0xff) {
                ++pos;
                continue;
            }
            const uint8_t next = d[pos + 1];
            if (next == 0x00 || (next >= 0xd0 && next <= 0xd7)) {
                pos += 2;
            } else if (next == 0xff) {
                ++pos;
            } else {
                break;  // a real marker: back to the segment walk
            }
        }
    }
}

uint32_t le32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }

// An uncompressed BMP's pixel array (offset + stride * rows) must fit in the file.
void check_bmp_complete(const std::vector<uint8_t>& d, const std::string& path) {
    SEGCORE_CHECK(d.size() >= 26, "BMP file '", path, "' is truncated inside its header (", d.size(), " bytes)");
    const uint64_t offset = le32(&d[10]);
    const uint32_t header_size = le32(&d[14]);
    int64_t width = 0, height = 0;
    uint32_t bpp = 0, compression = 0;
    if (header_size == 12) {
        width = le16(&d[18]);
        height = le16(&d[20]);
        bpp = le16(&d[24]);
    } else {
        SEGCORE_CHECK(d.size() >= 34, "BMP file '", path, "' is truncated inside its header (", d.size(), " bytes)");
        width = int32_t(le32(&d[18]));
        height = int32_t(le32(&d[22]));
        bpp = le16(&d[28]);
        compression = le32(&d[30]);
    }
    if (height < 0) height = -height;
    if (width < 0) width = -width;
    if (compression != 0 && compression != 3 && compression != 6) return;  // RLE etc.: stb refuses them
    if (bpp == 0 || bpp > 32 || width == 0 || height == 0) return;         // stb reports these
    const uint64_t stride = ((uint64_t(width) * bpp + 31) / 32) * 4;
    const uint64_t need = offset + stride * uint64_t(height);
    SEGCORE_CHECK(need <= d.size(), "BMP file '", path, "' is truncated: its ", width, "x", height, " pixels need ",
                  need, " bytes, the file has ", d.size());
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// Walks a PNG's chunks to IEND checking each one fits in the file and has a correct CRC. stb_image
// checks no CRC and stops at IEND's header, so without this a file with flipped bytes or a missing
// tail could decode "successfully" (libpng, which reads the masks, makes the same checks itself).
void check_png_complete(const std::vector<uint8_t>& d, const std::string& path) {
    size_t pos = 8;
    for (;;) {
        SEGCORE_CHECK(pos + 12 <= d.size(), "PNG file '", path, "' is truncated: it ends before the IEND chunk");
        const uint32_t len = be32(&d[pos]);
        SEGCORE_CHECK(len <= d.size() - pos - 12, "PNG file '", path, "' is truncated: a chunk of ", len,
                      " bytes runs past the end of the file (", d.size(), " bytes)");
        const uint8_t* type = &d[pos + 4];
        const uint32_t crc = uint32_t(crc32(0L, type, uInt(len + 4)));
        const std::string name(reinterpret_cast<const char*>(type), 4);
        SEGCORE_CHECK(crc == be32(&d[pos + 8 + len]), "PNG file '", path, "' is corrupt: CRC mismatch in chunk '", name,
                      "' at byte ", pos);
        if (name == "IEND") return;
        pos += 12 + size_t(len);
    }
}

// The size a file's header declares, read by us so an image bomb is refused with our message
// before any decoder looks at it (stb_image refuses some with a generic "too large" and accepts
// others). Returns false when the header is too short or malformed: stb_image then reports it.
bool declared_size(const std::vector<uint8_t>& d, FileFormat f, int64_t* h, int64_t* w) {
    const size_t n = d.size();
    if (f == FileFormat::Png) {
        if (n < 24 || std::memcmp(&d[12], "IHDR", 4) != 0) return false;
        *w = be32(&d[16]);
        *h = be32(&d[20]);
        return true;
    }
    if (f == FileFormat::Bmp) {
        if (n < 26) return false;
        if (le32(&d[14]) == 12) {
            *w = le16(&d[18]);
            *h = le16(&d[20]);
        } else {
            *w = std::abs(int64_t(int32_t(le32(&d[18]))));
            *h = std::abs(int64_t(int32_t(le32(&d[22]))));
        }
        return true;
    }
    if (f == FileFormat::Jpeg) {  // walk the segments to the first SOFn
        size_t pos = 2;
        while (pos + 4 <= n) {
            if (d[pos] != 0xff) return false;
            const uint8_t m = d[pos + 1];
            if (m == 0xff) {
                ++pos;
                continue;
            }
            const size_t len = (size_t(d[pos + 2]) << 8) | d[pos + 3];
            if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
                if (pos + 9 > n) return false;
                *h = (int64_t(d[pos + 5]) << 8) | d[pos + 6];
                *w = (int64_t(d[pos + 7]) << 8) | d[pos + 8];
                return true;
            }
            if (m == 0xda || m == 0xd9) return false;
            pos += 2 + len;
        }
    }
    return false;
}

struct StbFree {
    void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

ImageInfo info_with_stb(const std::vector<uint8_t>& bytes, FileFormat f, const std::string& path) {
    SEGCORE_CHECK(f != FileFormat::Unknown, "'", path, "' is not a JPEG, PNG or BMP image (it starts with bytes ",
                  hex_prefix(bytes), ")");
    SEGCORE_CHECK(bytes.size() <= size_t(INT32_MAX), "image file '", path, "' is larger than 2 GiB");
    int64_t declared_h = 0, declared_w = 0;
    if (declared_size(bytes, f, &declared_h, &declared_w) && declared_h > 0 && declared_w > 0)
        detail::check_dimensions(declared_h, declared_w, path);
    // Structure before stb_image: it decodes some truncated files silently and trusts some fields.
    if (f == FileFormat::Jpeg) check_jpeg_complete(bytes, path);
    if (f == FileFormat::Bmp) check_bmp_complete(bytes, path);
    if (f == FileFormat::Png) check_png_complete(bytes, path);
    int w = 0, h = 0, c = 0;
    const int ok = stbi_info_from_memory(bytes.data(), int(bytes.size()), &w, &h, &c);
    SEGCORE_CHECK(ok, detail::format_name(f), " file '", path, "' has a corrupt or unsupported header (",
                  stbi_failure_reason() ? stbi_failure_reason() : "unknown reason", ")");
    detail::check_dimensions(h, w, path);
    return {h, w, c, detail::format_name(f)};
}

}  // namespace

namespace detail {

Image decode_with_stb(const std::vector<uint8_t>& bytes, FileFormat f, const std::string& path, int channels) {
    SEGCORE_CHECK(channels >= 0 && channels <= 4 && channels != 2, "read_image: channels must be 0, 1, 3 or 4, got ",
                  channels, " (reading '", path, "')");
    const ImageInfo info = info_with_stb(bytes, f, path);
    int w = 0, h = 0, c = 0;
    std::unique_ptr<stbi_uc, StbFree> pixels(
        stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &c, channels));
    SEGCORE_CHECK(pixels != nullptr, "cannot decode ", format_name(f), " file '", path,
                  "': ", stbi_failure_reason() ? stbi_failure_reason() : "unknown reason", " (corrupt or truncated?)");
    SEGCORE_CHECK(w == info.width && h == info.height, "cannot decode ", format_name(f), " file '", path,
                  "': header says ", info.width, "x", info.height, ", decoder produced ", w, "x", h);
    Image img;
    img.height = h;
    img.width = w;
    img.channels = channels == 0 ? c : channels;
    img.pixels.assign(pixels.get(), pixels.get() + size_t(img.height * img.width * img.channels));
    return img;
}

}  // namespace detail

Image read_image(const std::string& path, int channels) {
    const std::vector<uint8_t> bytes = detail::read_image_file(path);
    return detail::decode_with_stb(bytes, detail::sniff_format(bytes.data(), bytes.size()), path, channels);
}

ImageInfo read_image_info(const std::string& path) {
    const std::vector<uint8_t> bytes = detail::read_image_file(path);
    return info_with_stb(bytes, detail::sniff_format(bytes.data(), bytes.size()), path);
}

}  // namespace segcore::data
