#pragma once
// A dataset: a list of (image, mask) pairs for one split, read and label-remapped on demand.
// `get` is thread-safe (the loader's workers call it concurrently) and throws segcore::Error
// naming the file for anything wrong with a sample.
//
// open_dataset lists the split's files (see SplitSpec for the pairing rules), checks that every
// listed image and mask exists (an error lists the first missing ones and suggests `segcore lint`),
// and returns a dataset whose get(i):
//   - reads the image as RGB (or grey when spec.image_channels == 1), f32 values 0..255;
//   - reads the mask and maps it to labels (data/label_map.h), checking every label is a class
//     index or the ignore index (the error names the file, the values and their pixel counts);
//   - checks image and mask have the same size (the error names both files).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset_spec.h"
#include "data/image.h"

namespace segcore::data {

class Dataset {
public:
    virtual ~Dataset() = default;
    virtual int64_t size() const = 0;
    virtual Sample get(int64_t index) const = 0;
    virtual const DatasetSpec& spec() const = 0;
};

// Where one sample's files are. Paths are absolute (root joined); mask is empty for unlabelled
// images. id: the image's path under the images folder without its suffix (for list lines with
// two paths: the image file's name without extension).
struct SamplePaths {
    std::string id, image, mask;
};

// Lists a split without reading or checking any file (lint uses this to report what is missing).
// Throws when the split is unknown, a list file cannot be read or the images folder does not exist.
std::vector<SamplePaths> list_samples(const DatasetSpec& spec, const std::string& split);

// Masks under the split's masks folder that no listed sample uses (lint's "orphan masks").
std::vector<std::string> unpaired_masks(const DatasetSpec& spec, const std::string& split,
                                        const std::vector<SamplePaths>& samples);

// Opens one split ("train", "val", "test", ...) of the dataset a spec describes.
std::shared_ptr<const Dataset> open_dataset(const DatasetSpec& spec, const std::string& split);

// Reads one sample the way the datasets of open_dataset do (no existence pre-check).
Sample read_sample(const DatasetSpec& spec, const SamplePaths& paths);

}  // namespace segcore::data
