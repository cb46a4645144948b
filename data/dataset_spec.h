#pragma once
// Dataset spec: the JSON file that says what a dataset's classes are and where its files live.
// Strictly validated: unknown keys and wrong types are errors naming the JSON path and listing the
// allowed keys. docs/datasets.md documents every key; in short:
//
//   {
//     "name": "camvid",                       required
//     "format": "camvid",                     folder (default) | camvid | voc | cityscapes | ade20k | isbi
//     "root": "../../../shared/datasets/camvid",  required; relative to the spec file's folder
//     "classes": ["Sky", ...],                required for "folder"; presets supply their own
//     "palette": [[128,128,128], ...],        class index -> colour
//     "ignore_index": 11,                     default 255; must not be a class index
//     "mask_encoding": "index",               index | rgb (colours through the palette) | binary (0 -> 0, 1/255 -> 1)
//     "ignore_color": [0,0,0],                rgb only: this colour -> ignore_index
//     "remap": {"7": 0, "8": 1},              stored value -> class (or ignore_index); others unchanged
//     "reduce_zero_label": false,             after remap: 0 -> ignore, v -> v - 1 (ADE20K)
//     "image_channels": 3,                    3 (grey images replicated) or 1
//     "splits": {"train": {"images": "train", "masks": "trainannot", "list": "train.txt"}, ...}
//   }
//
// A preset format (camvid, voc, ...) supplies defaults for every key but name and root; keys the
// spec gives override them, and each split the spec names replaces the preset's split of that name.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/image_io.h"

namespace segcore::data {

// Where one split's samples are and how an image is paired with its mask. Without a list file or
// ids, every image under `images` (ending in image_suffix, or in .png/.jpg/.jpeg/.bmp when it is
// empty) is a sample; its id is its path under `images` without the suffix, and its mask is
// masks/<id><mask_suffix>.
struct SplitSpec {
    std::string images;  // folder of images (relative to root), or
    std::string masks;   // folder of masks (empty: unlabelled images)
    std::string list;    // optional list file: one "image [mask]" pair per line
    // Extensions (may be left empty; see docs/datasets.md). A list line with one token, or an
    // entry of `ids`, is an id: images/<id><image_suffix> and masks/<id><mask_suffix>. A line with
    // two tokens is "image mask", both relative to root.
    std::vector<std::string> ids;  // inline list of ids (instead of a list file)
    std::string image_suffix;      // e.g. ".jpg", "_leftImg8bit.png"; empty: any image extension
    std::string mask_suffix = ".png";
    bool recursive = false;  // look into sub-folders of `images` (Cityscapes cities)
    // A preset's extra standard split (CamVid's test, VOC's trainval and test, ...): it counts only
    // when its files exist (split_available). Splits a spec file names are never optional.
    bool optional = false;
};

struct DatasetSpec {
    std::string name;
    // "folder" (generic images/ + masks/), "camvid", "voc", "cityscapes", "ade20k", "isbi".
    std::string format = "folder";
    std::string root;                  // absolute after loading (relative paths resolve against the spec file)
    std::vector<std::string> classes;  // class index -> name
    Palette palette;                   // class index -> colour (for colour masks and predictions)
    int32_t ignore_index = 255;
    std::map<std::string, SplitSpec> splits;
    std::string mask_encoding = "index";                 // "index", "rgb" (colours through the palette), "binary"
    std::map<int32_t, int32_t> remap;                    // raw value -> class (or ignore_index)
    bool reduce_zero_label = false;                      // ADE20K: 0 -> ignore, v -> v - 1
    std::optional<std::array<uint8_t, 3>> ignore_color;  // rgb encoding: this colour -> ignore_index
    int image_channels = 3;                              // channels of Sample::image: 3 (RGB) or 1 (grey)
    std::string description;                             // free text
    std::string spec_path;                               // the file this spec was loaded from (for messages); not saved
    int64_t num_classes() const { return int64_t(classes.size()); }
};

// Whether split `name` counts: a split of the spec that is not optional, or an optional one whose
// files exist under the root (its list file when it has one, else its images folder). Decided when
// asked, not when the spec is parsed, because the trainer may replace the root (data.root).
bool split_available(const DatasetSpec& spec, const std::string& name);
// The splits that count, in name order: what lint checks and error messages list.
std::vector<std::string> split_names(const DatasetSpec& spec);

// The formats load_dataset_spec accepts, and the defaults each one supplies (root and name empty).
std::vector<std::string> dataset_formats();
DatasetSpec dataset_preset(const std::string& format);

// Parses and validates a spec file; errors name the file and the JSON path.
DatasetSpec load_dataset_spec(const std::string& path);
// Parses a spec from JSON text; a relative root resolves against base_dir. `origin` names the
// source in error messages.
DatasetSpec parse_dataset_spec(const std::string& json_text, const std::string& base_dir,
                               const std::string& origin = "dataset spec");
// Checks the cross-field rules (also run by load/parse): classes present, ignore_index not a class,
// palette large enough for rgb masks, remap targets valid, at least one split. Throws naming `origin`.
void validate_dataset_spec(const DatasetSpec& spec, const std::string& origin);

// Writes every field (root relative to the new file's folder when possible); atomic. Optional
// splits are written (as plain splits) only when they are available.
void save_dataset_spec(const DatasetSpec& spec, const std::string& path);

}  // namespace segcore::data
