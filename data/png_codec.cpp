// PNG masks through libpng: palette PNGs read as indices, grey PNGs as values (1 to 16 bits),
// colour PNGs as RGB; and every PNG writer (index, palette, grey/RGB/RGBA).
//
// libpng reports errors by calling an error function that must not return. Ours records the
// message and longjmps back to the setjmp in png_read_header / png_read_pixels / png_encode. Those
// three functions are written like C: no object with a destructor lives in them or in any frame
// the longjmp crosses (only libpng's own frames), so no C++ destructor is ever skipped. The C++
// callers own every resource (png structs, row buffers) through RAII objects in *their* frames,
// which the longjmp never leaves, and turn a `false` return into a segcore::Error naming the file.
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "core/error.h"
#include "data/codec_detail.h"
#include "data/file_util.h"
#include "data/image_io.h"

namespace segcore::data {

namespace {

using detail::FileFormat;

// ---- reading ---------------------------------------------------------------------------------

struct PngReadState {  // plain data: longjmp may cross code that holds a pointer to it
    png_structp png = nullptr;
    png_infop info = nullptr;
    const uint8_t* data = nullptr;
    size_t size = 0, pos = 0;
    char error[256] = {0};
};

struct PngHeader {
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
};

extern "C" void png_error_to_state(png_structp png, png_const_charp msg) {
    auto* st = static_cast<PngReadState*>(png_get_error_ptr(png));
    std::snprintf(st->error, sizeof st->error, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

extern "C" void png_ignore_warning(png_structp, png_const_charp) {}

extern "C" void png_read_from_memory(png_structp png, png_bytep out, size_t n) {
    auto* st = static_cast<PngReadState*>(png_get_io_ptr(png));
    if (st->size - st->pos < n) png_error(png, "file is truncated (ends in the middle of a chunk)");
    std::memcpy(out, st->data + st->pos, n);
    st->pos += n;
}

bool png_read_header(PngReadState* st, PngHeader* h) {
    if (setjmp(png_jmpbuf(st->png))) return false;
    png_set_read_fn(st->png, st, png_read_from_memory);
    // libpng's own limits, in addition to ours: no width/height above 2^24, no huge ancillary chunks.
    png_set_user_limits(st->png, 1u << 24, 1u << 24);
    png_set_chunk_malloc_max(st->png, 16u << 20);
    png_read_info(st->png, st->info);
    png_get_IHDR(st->png, st->info, &h->width, &h->height, &h->bit_depth, &h->color_type, &h->interlace, nullptr,
                 nullptr);
    return true;
}

// out: what the caller wants per pixel after the transforms.
struct PngOutput {
    bool rgb = false;     // 3 x 8-bit colours; else 1 value (8-bit, or 16-bit big-endian when wide)
    bool wide = false;    // 16-bit values
    size_t rowbytes = 0;  // expected bytes per row after the transforms
};

bool png_read_pixels(PngReadState* st, const PngHeader* h, const PngOutput* out, png_bytep* rows) {
    if (setjmp(png_jmpbuf(st->png))) return false;
    const int ct = h->color_type;
    if (out->rgb) {
        if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(st->png);
        if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(st->png);
        if (h->bit_depth == 16) png_set_scale_16(st->png);
        if (h->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(st->png);
        if (ct & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(st->png);
    } else {
        // Palette indices and grey values stay values: unpack 1/2/4-bit samples without scaling.
        if (h->bit_depth < 8) png_set_packing(st->png);
        if (ct & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(st->png);
    }
    png_set_interlace_handling(st->png);
    png_read_update_info(st->png, st->info);
    if (png_get_rowbytes(st->png, st->info) != out->rowbytes) {
        std::snprintf(st->error, sizeof st->error, "unexpected row size %lu after decoding (expected %lu)",
                      (unsigned long)png_get_rowbytes(st->png, st->info), (unsigned long)out->rowbytes);
        return false;
    }
    png_read_image(st->png, rows);
    png_read_end(st->png, nullptr);  // reads up to IEND: a file cut after the pixels is still truncated
    return true;
}

struct PngReadGuard {
    PngReadState* st;
    ~PngReadGuard() {
        if (st->png) png_destroy_read_struct(&st->png, st->info ? &st->info : nullptr, nullptr);
    }
};

const char* color_type_name(int ct) {
    switch (ct) {
        case PNG_COLOR_TYPE_GRAY:
            return "grey";
        case PNG_COLOR_TYPE_GRAY_ALPHA:
            return "grey+alpha";
        case PNG_COLOR_TYPE_PALETTE:
            return "palette";
        case PNG_COLOR_TYPE_RGB:
            return "RGB";
        case PNG_COLOR_TYPE_RGB_ALPHA:
            return "RGBA";
        default:
            return "unknown";
    }
}

// ---- writing ---------------------------------------------------------------------------------

struct PngWriteState {
    png_structp png = nullptr;
    png_infop info = nullptr;
    uint8_t* buf = nullptr;  // malloc'd: grown from inside libpng callbacks, which must not throw
    size_t size = 0, cap = 0;
    char error[256] = {0};
};

extern "C" void png_write_error_to_state(png_structp png, png_const_charp msg) {
    auto* st = static_cast<PngWriteState*>(png_get_error_ptr(png));
    std::snprintf(st->error, sizeof st->error, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

extern "C" void png_write_to_memory(png_structp png, png_bytep data, size_t n) {
    auto* st = static_cast<PngWriteState*>(png_get_io_ptr(png));
    if (st->size + n > st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 65536;
        while (cap < st->size + n) cap *= 2;
        auto* grown = static_cast<uint8_t*>(std::realloc(st->buf, cap));
        if (!grown) png_error(png, "out of memory while encoding");
        st->buf = grown;
        st->cap = cap;
    }
    std::memcpy(st->buf + st->size, data, n);
    st->size += n;
}

extern "C" void png_flush_nothing(png_structp) {}

struct PngEncodeParams {
    png_uint_32 width = 0, height = 0;
    int bit_depth = 8, color_type = PNG_COLOR_TYPE_GRAY;
    const png_color* palette = nullptr;
    int palette_size = 0;
};

bool png_encode(PngWriteState* st, const PngEncodeParams* p, png_bytep* rows) {
    if (setjmp(png_jmpbuf(st->png))) return false;
    png_set_write_fn(st->png, st, png_write_to_memory, png_flush_nothing);
    png_set_IHDR(st->png, st->info, p->width, p->height, p->bit_depth, p->color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (p->palette) png_set_PLTE(st->png, st->info, p->palette, p->palette_size);
    png_write_info(st->png, st->info);
    png_write_image(st->png, rows);
    png_write_end(st->png, nullptr);
    return true;
}

struct PngWriteGuard {
    PngWriteState* st;
    ~PngWriteGuard() {
        if (st->png) png_destroy_write_struct(&st->png, st->info ? &st->info : nullptr);
        std::free(st->buf);
    }
};

// Encodes rows (already in PNG byte order) and writes the file atomically.
void write_png_rows(const std::string& path, const PngEncodeParams& p, std::vector<png_bytep>& rows) {
    PngWriteState st;
    PngWriteGuard guard{&st};
    st.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, png_write_error_to_state, png_ignore_warning);
    SEGCORE_CHECK(st.png, "cannot write '", path, "': png_create_write_struct failed");
    st.info = png_create_info_struct(st.png);
    SEGCORE_CHECK(st.info, "cannot write '", path, "': png_create_info_struct failed");
    SEGCORE_CHECK(png_encode(&st, &p, rows.data()), "cannot write '", path, "': libpng: ", st.error);
    write_file_atomic(path, st.buf, st.size);
}

void check_mask_shape(const Mask& mask, const std::string& path) {
    SEGCORE_CHECK(mask.height > 0 && mask.width > 0, "cannot write '", path, "': the mask is empty (", mask.width, "x",
                  mask.height, ")");
    SEGCORE_CHECK(int64_t(mask.labels.size()) == mask.height * mask.width, "cannot write '", path, "': the mask has ",
                  mask.labels.size(), " labels for ", mask.width, "x", mask.height, " pixels");
    SEGCORE_CHECK(mask.height <= (1 << 24) && mask.width <= (1 << 24), "cannot write '", path, "': ", mask.width, "x",
                  mask.height, " is too large for PNG");
}

}  // namespace

namespace detail {

MaskFile decode_png_mask(const std::vector<uint8_t>& bytes, const std::string& path, bool want_rgb) {
    PngReadState st;
    PngReadGuard guard{&st};
    st.data = bytes.data();
    st.size = bytes.size();
    st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_error_to_state, png_ignore_warning);
    SEGCORE_CHECK(st.png, "cannot read '", path, "': png_create_read_struct failed");
    st.info = png_create_info_struct(st.png);
    SEGCORE_CHECK(st.info, "cannot read '", path, "': png_create_info_struct failed");

    PngHeader h;
    SEGCORE_CHECK(png_read_header(&st, &h), "PNG file '", path, "' is corrupt or truncated: ", st.error);
    check_dimensions(int64_t(h.height), int64_t(h.width), path);

    const bool colour = h.color_type == PNG_COLOR_TYPE_RGB || h.color_type == PNG_COLOR_TYPE_RGB_ALPHA;
    PngOutput out;
    out.rgb = want_rgb || colour;
    out.wide = !out.rgb && h.bit_depth == 16;
    out.rowbytes = size_t(h.width) * (out.rgb ? 3 : (out.wide ? 2 : 1));

    MaskFile result;
    result.kind = std::to_string(h.bit_depth) + "-bit " + color_type_name(h.color_type) + " PNG";
    if (h.color_type == PNG_COLOR_TYPE_PALETTE) result.kind = "palette PNG";
    std::vector<uint8_t> pixels(out.rowbytes * size_t(h.height));
    std::vector<png_bytep> rows(h.height);
    for (png_uint_32 y = 0; y < h.height; ++y) rows[y] = pixels.data() + size_t(y) * out.rowbytes;
    SEGCORE_CHECK(png_read_pixels(&st, &h, &out, rows.data()), "PNG file '", path,
                  "' is corrupt or truncated: ", st.error);

    if (out.rgb) {
        result.rgb.height = h.height;
        result.rgb.width = h.width;
        result.rgb.channels = 3;
        result.rgb.pixels = std::move(pixels);
        return result;
    }
    Mask& m = result.values;
    m.height = h.height;
    m.width = h.width;
    m.labels.resize(size_t(m.height * m.width));
    if (out.wide) {
        for (size_t i = 0; i < m.labels.size(); ++i) m.labels[i] = int32_t(pixels[2 * i]) << 8 | pixels[2 * i + 1];
    } else {
        for (size_t i = 0; i < m.labels.size(); ++i) m.labels[i] = pixels[i];
    }
    return result;
}

}  // namespace detail

MaskFile read_mask_file(const std::string& path) {
    const std::vector<uint8_t> bytes = detail::read_image_file(path);
    const FileFormat f = detail::sniff_format(bytes.data(), bytes.size());
    if (f == FileFormat::Png) return detail::decode_png_mask(bytes, path, false);
    // BMP / JPEG masks: stb_image, one channel = values, otherwise colours.
    Image img = detail::decode_with_stb(bytes, f, path, 0);
    MaskFile result;
    result.kind = detail::format_name(f);
    if (img.channels <= 2) {
        result.values.height = img.height;
        result.values.width = img.width;
        result.values.labels.resize(size_t(img.height * img.width));
        for (size_t i = 0; i < result.values.labels.size(); ++i)
            result.values.labels[i] = img.pixels[i * size_t(img.channels)];
    } else {
        result.rgb.height = img.height;
        result.rgb.width = img.width;
        result.rgb.channels = 3;
        result.rgb.pixels.resize(size_t(img.height * img.width * 3));
        for (size_t i = 0; i < size_t(img.height * img.width); ++i)
            for (size_t c = 0; c < 3; ++c) result.rgb.pixels[3 * i + c] = img.pixels[i * size_t(img.channels) + c];
    }
    return result;
}

Mask read_mask(const std::string& path) {
    MaskFile f = read_mask_file(path);
    SEGCORE_CHECK(!f.is_rgb(), "mask '", path, "' is a colour image (", f.kind,
                  "), expected one class index per pixel (palette or grey PNG); for colour masks set "
                  "\"mask_encoding\": \"rgb\" and a palette in the dataset spec");
    return std::move(f.values);
}

Image read_mask_rgb(const std::string& path) {
    const std::vector<uint8_t> bytes = detail::read_image_file(path);
    const FileFormat f = detail::sniff_format(bytes.data(), bytes.size());
    if (f == FileFormat::Png) return std::move(detail::decode_png_mask(bytes, path, true).rgb);
    return detail::decode_with_stb(bytes, f, path, 3);
}

Mask rgb_to_mask(const Image& rgb, const Palette& palette, const std::string& path, int32_t unknown) {
    SEGCORE_CHECK(rgb.channels == 3, "rgb_to_mask: '", path, "' has ", rgb.channels, " channels, expected 3");
    SEGCORE_CHECK(int64_t(rgb.pixels.size()) == rgb.height * rgb.width * 3, "rgb_to_mask: '", path,
                  "': pixel buffer does not match its size");
    std::unordered_map<uint32_t, int32_t> lut;
    for (size_t i = 0; i < palette.size(); ++i) {
        const uint32_t key = uint32_t(palette[i][0]) << 16 | uint32_t(palette[i][1]) << 8 | palette[i][2];
        lut.emplace(key, int32_t(i));  // the first entry with a colour wins
    }
    Mask m;
    m.height = rgb.height;
    m.width = rgb.width;
    m.labels.resize(size_t(m.height * m.width));
    std::unordered_map<uint32_t, int64_t> missing;
    uint32_t last_key = 0xffffffffu;  // not a colour: the first pixel always looks up
    int32_t last_value = 0;
    for (size_t i = 0; i < m.labels.size(); ++i) {
        const uint8_t* p = &rgb.pixels[3 * i];
        const uint32_t key = uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2];
        if (key != last_key) {  // runs of one colour are the common case
            last_key = key;
            const auto it = lut.find(key);
            last_value = it != lut.end() ? it->second : unknown;
        }
        if (last_value < 0) ++missing[key];
        m.labels[i] = last_value;
    }
    if (!missing.empty()) {
        std::string list;
        int shown = 0;
        for (const auto& [key, count] : missing) {
            if (shown++ == 5) {
                list += ", ...";
                break;
            }
            if (!list.empty()) list += ", ";
            // snprintf rather than a chain of string '+': GCC 12 warns (-Wrestrict) on the chain.
            char entry[64];
            std::snprintf(entry, sizeof entry, "(%u,%u,%u) x %lld", key >> 16, (key >> 8) & 255u, key & 255u,
                          (long long)count);
            list += entry;
        }
        SEGCORE_THROW("colour mask '", path, "' has ", missing.size(),
                      " colour(s) that are not in the palette: ", list);
    }
    return m;
}

void write_png(const std::string& path, const Image& img) {
    SEGCORE_CHECK(img.channels >= 1 && img.channels <= 4, "cannot write '", path, "': PNG needs 1 to 4 channels, got ",
                  img.channels);
    SEGCORE_CHECK(img.height > 0 && img.width > 0 && img.height <= (1 << 24) && img.width <= (1 << 24),
                  "cannot write '", path, "': bad image size ", img.width, "x", img.height);
    SEGCORE_CHECK(int64_t(img.pixels.size()) == img.height * img.width * img.channels, "cannot write '", path,
                  "': the image has ", img.pixels.size(), " bytes for ", img.width, "x", img.height, "x", img.channels);
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    PngEncodeParams p;
    p.width = png_uint_32(img.width);
    p.height = png_uint_32(img.height);
    p.color_type = types[img.channels];
    std::vector<png_bytep> rows(size_t(img.height));
    for (int64_t y = 0; y < img.height; ++y)
        rows[size_t(y)] = const_cast<png_bytep>(img.pixels.data() + y * img.width * img.channels);
    write_png_rows(path, p, rows);
}

void write_index_png(const std::string& path, const Mask& mask) {
    check_mask_shape(mask, path);
    int32_t lo = 0, hi = 0;
    for (int32_t v : mask.labels) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    SEGCORE_CHECK(lo >= 0 && hi <= 65535, "cannot write '", path, "' as an index PNG: labels must be in [0, 65535], ",
                  "found ", lo < 0 ? lo : hi);
    const bool wide = hi > 255;
    PngEncodeParams p;
    p.width = png_uint_32(mask.width);
    p.height = png_uint_32(mask.height);
    p.bit_depth = wide ? 16 : 8;
    std::vector<uint8_t> bytes(mask.labels.size() * (wide ? 2 : 1));
    for (size_t i = 0; i < mask.labels.size(); ++i) {
        if (wide) {
            bytes[2 * i] = uint8_t(mask.labels[i] >> 8);  // PNG samples are big-endian
            bytes[2 * i + 1] = uint8_t(mask.labels[i]);
        } else {
            bytes[i] = uint8_t(mask.labels[i]);
        }
    }
    std::vector<png_bytep> rows(size_t(mask.height));
    const size_t stride = size_t(mask.width) * (wide ? 2 : 1);
    for (size_t y = 0; y < rows.size(); ++y) rows[y] = bytes.data() + y * stride;
    write_png_rows(path, p, rows);
}

void write_palette_png(const std::string& path, const Mask& mask, const Palette& palette) {
    check_mask_shape(mask, path);
    SEGCORE_CHECK(palette.size() <= 256, "cannot write '", path, "': a PNG palette holds at most 256 colours, got ",
                  palette.size());
    int32_t hi = 0;
    for (int32_t v : mask.labels) {
        SEGCORE_CHECK(v >= 0 && v <= 255, "cannot write '", path,
                      "' as a palette PNG: labels must be in [0, 255], found ", v);
        hi = std::max(hi, v);
    }
    std::vector<png_color> colours(std::max<size_t>(palette.size(), size_t(hi) + 1), png_color{0, 0, 0});
    for (size_t i = 0; i < palette.size(); ++i) colours[i] = png_color{palette[i][0], palette[i][1], palette[i][2]};
    std::vector<uint8_t> bytes(mask.labels.begin(), mask.labels.end());
    PngEncodeParams p;
    p.width = png_uint_32(mask.width);
    p.height = png_uint_32(mask.height);
    p.color_type = PNG_COLOR_TYPE_PALETTE;
    p.palette = colours.data();
    p.palette_size = int(colours.size());
    std::vector<png_bytep> rows(size_t(mask.height));
    for (size_t y = 0; y < rows.size(); ++y) rows[y] = bytes.data() + y * size_t(mask.width);
    write_png_rows(path, p, rows);
}

}  // namespace segcore::data
