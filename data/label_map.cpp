#include "data/label_map.h"

#include <algorithm>
#include <climits>

#include "core/error.h"
#include "data/image_io.h"

namespace segcore::data {

namespace {
constexpr int32_t kInvalid = INT32_MIN;  // binary masks: a stored value that is neither 0, 1 nor 255
constexpr int32_t kUnknownColour = INT32_MAX;
}  // namespace

int64_t DecodedMask::bad_pixels() const {
    int64_t n = 0;
    for (const auto& [v, count] : bad_values) n += count;
    return n;
}

LabelMapper::LabelMapper(const DatasetSpec& spec) : spec_(spec), lut_(65536), valid_(65536) {
    const int32_t c = int32_t(spec.num_classes());
    const int32_t ignore = spec.ignore_index;
    for (int32_t v = 0; v < 65536; ++v) {
        int32_t x = v;
        if (spec.mask_encoding == "binary") x = v == 0 ? 0 : (v == 1 || v == 255) ? 1 : kInvalid;
        if (x != kInvalid) {
            if (const auto it = spec.remap.find(x); it != spec.remap.end()) x = it->second;
            if (spec.reduce_zero_label) x = (x == 0 || x == ignore) ? ignore : x - 1;
        }
        lut_[size_t(v)] = x;
        valid_[size_t(v)] = (x >= 0 && x < c) || (x == ignore && x != kInvalid);
    }
    if (spec.mask_encoding == "rgb") {
        rgb_palette_.assign(spec.palette.begin(),
                            spec.palette.begin() + std::min<size_t>(spec.palette.size(), size_t(c)));
        if (spec.ignore_color) rgb_palette_.push_back(*spec.ignore_color);
    }
}

int32_t LabelMapper::map_value(int32_t stored) const {
    return stored >= 0 && stored < 65536 ? lut_[size_t(stored)] : stored;
}

bool LabelMapper::is_valid_stored(int32_t stored) const {
    return stored >= 0 && stored < 65536 && valid_[size_t(stored)];
}

std::string LabelMapper::valid_range() const {
    return "class indices 0.." + std::to_string(spec_.num_classes() - 1) + " or the ignore_index " +
           std::to_string(spec_.ignore_index);
}

DecodedMask LabelMapper::decode(const std::string& path) const { return decode_impl(path, false); }

DecodedMask LabelMapper::decode_impl(const std::string& path, bool strict_colours) const {
    DecodedMask out;
    const int32_t c = int32_t(spec_.num_classes());
    if (spec_.mask_encoding == "rgb") {
        out.kind = "colour mask";
        const Image rgb = read_mask_rgb(path);
        // strict: rgb_to_mask's own error names the colours that are not in the palette.
        out.labels = rgb_to_mask(rgb, rgb_palette_, path, strict_colours ? -1 : kUnknownColour);
        for (int32_t& v : out.labels.labels) {
            if (v == kUnknownColour) {
                ++out.bad_values[kColourNotInPalette];
            } else if (v == c) {  // ignore_color
                v = spec_.ignore_index;
            }
        }
        return out;
    }
    MaskFile file = read_mask_file(path);
    if (file.is_rgb()) {
        out.kind = file.kind;
        out.colour_for_index = true;
        return out;
    }
    return decode_values(std::move(file));
}

DecodedMask LabelMapper::decode_values(MaskFile file) const {
    DecodedMask out;
    out.kind = file.kind;
    out.labels = std::move(file.values);
    for (int32_t& v : out.labels.labels) {
        // Stored values come from 8/16-bit files, so they index the table directly.
        if (!valid_[size_t(v)]) ++out.bad_values[v];
        v = lut_[size_t(v)];
    }
    return out;
}

Mask LabelMapper::checked(DecodedMask d, const std::string& path) const {
    SEGCORE_CHECK(!d.colour_for_index, "mask '", path, "' is a colour image (", d.kind,
                  "), but the dataset's mask_encoding is \"", spec_.mask_encoding,
                  "\" (one class index per pixel); for colour masks set \"mask_encoding\": \"rgb\" "
                  "and a palette");
    if (!d.bad_values.empty())
        SEGCORE_THROW("mask '", path, "': ", d.bad_pixels(), " pixels have labels outside ", valid_range(), ": ",
                      describe_bad_values(d.bad_values, *this));
    return std::move(d.labels);
}

Mask LabelMapper::read(const std::string& path) const { return checked(decode_impl(path, true), path); }

Mask LabelMapper::map_checked(MaskFile file, const std::string& path) const {
    SEGCORE_CHECK(!file.is_rgb(), "mask '", path, "': map_checked takes index masks, got a colour image (", file.kind,
                  ")");
    return checked(decode_values(std::move(file)), path);
}

std::string describe_bad_values(const std::map<int64_t, int64_t>& bad, const LabelMapper& mapper, int limit) {
    std::string s;
    int shown = 0;
    for (const auto& [v, count] : bad) {
        if (shown++ == limit) {
            s += ", ... (" + std::to_string(bad.size()) + " values in all)";
            break;
        }
        if (!s.empty()) s += ", ";
        if (v == kColourNotInPalette) {
            s += "colours not in the palette x " + std::to_string(count) + " pixels";
            continue;
        }
        s += "value " + std::to_string(v);
        const int32_t mapped = mapper.map_value(int32_t(v));
        if (mapped == kInvalid)
            s += " (not 0, 1 or 255 in a binary mask)";
        else if (mapped != v)
            s += " (maps to " + std::to_string(mapped) + ")";
        s += " x " + std::to_string(count) + " pixels";
    }
    return s;
}

}  // namespace segcore::data
