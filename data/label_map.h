#pragma once
// From a stored mask file to class labels, the way a dataset spec says:
//   1. decode  index:  palette indices / grey values as stored
//              binary: 0 -> 0, 1 or 255 -> 1 (anything else is invalid)
//              rgb:    colour -> palette index (ignore_color -> ignore_index)
//   2. remap   stored value -> value, for values listed in spec.remap (index and binary masks)
//   3. reduce_zero_label: 0 -> ignore_index, ignore_index stays, v -> v - 1
//   4. check   every label is a class index in [0, C) or ignore_index
// Steps 1-3 for index/binary masks are one lookup table over the 65536 possible stored values.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/dataset_spec.h"
#include "data/image_io.h"

namespace segcore::data {

// Key of DecodedMask::bad_values for pixels whose colour is not in the palette (rgb encoding).
inline constexpr int64_t kColourNotInPalette = -1;

struct DecodedMask {
    Mask labels;                            // mapped labels (invalid pixels keep their mapped value)
    std::map<int64_t, int64_t> bad_values;  // stored value -> pixels whose label is invalid
    std::string kind;                       // what the file was ("palette PNG", "8-bit grey PNG", ...)
    bool colour_for_index = false;          // a colour mask where index/binary masks were expected (labels empty)
    int64_t bad_pixels() const;
};

class LabelMapper {
public:
    explicit LabelMapper(const DatasetSpec& spec);

    // Reads and maps `path`; throws segcore::Error naming the file when it cannot be read, is a
    // colour mask where index masks were expected, or has labels outside [0, C) / ignore_index.
    Mask read(const std::string& path) const;

    // Reads and maps without judging the labels (for lint): throws only when the file cannot be read.
    DecodedMask decode(const std::string& path) const;

    // Maps and checks an index mask already read (values, not colours) like read() does: for
    // callers that decide how to read a file themselves (predict's --masks takes colour masks too).
    Mask map_checked(MaskFile file, const std::string& path) const;

    // The label a stored value maps to (index/binary masks), and whether that label is valid.
    int32_t map_value(int32_t stored) const;
    bool is_valid_stored(int32_t stored) const;

    // "labels 0..10 or ignore 11" for messages.
    std::string valid_range() const;

private:
    DecodedMask decode_impl(const std::string& path, bool strict_colours) const;
    DecodedMask decode_values(MaskFile file) const;              // index / binary masks
    Mask checked(DecodedMask d, const std::string& path) const;  // read()'s judgement

    DatasetSpec spec_;            // a copy: the mapper may outlive the caller's spec
    std::vector<int32_t> lut_;    // stored value (0..65535) -> label
    std::vector<uint8_t> valid_;  // stored value -> 1 when lut_ gives a class index or the ignore index
    Palette rgb_palette_;         // classes' colours (+ ignore_color at index C)
};

// "value 12 (maps to 12) x 40 pixels, ..." for at most `limit` entries.
std::string describe_bad_values(const std::map<int64_t, int64_t>& bad, const LabelMapper& mapper, int limit = 5);

}  // namespace segcore::data
