#pragma once
// Dataset lint: reads every image and mask of a split (in parallel) and reports what would make
// training fail or silently go wrong.
//   errors:   missing_image, missing_mask, unreadable_image, unreadable_mask, colour_mask (a colour
//             mask where index masks are expected), size_mismatch, labels_out_of_range (one issue per
//             offending stored value: pixels, files, example files), empty_split, split (the split
//             cannot be listed at all)
//   warnings: class_never_occurs, orphan_mask (a mask no image uses, folder scans only)
// `segcore lint <spec>` prints the reports and exits nonzero when any error is found.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/dataset_spec.h"

namespace segcore::data {

struct LintIssue {
    std::string severity;               // "error" or "warning"
    std::string kind;                   // see above
    std::string message;                // one line for people
    int64_t count = 0;                  // files affected (pixels for labels_out_of_range)
    std::vector<std::string> examples;  // a few affected files, with details
};

struct LintReport {
    std::string dataset, split;
    int64_t samples = 0;
    std::map<std::string, int64_t> mask_kinds;  // "8-bit grey PNG" -> files
    std::vector<int64_t> class_pixels;          // per class, over the masks that could be read
    int64_t ignored_pixels = 0, mask_pixels = 0;
    std::vector<LintIssue> issues;

    int64_t errors() const;
    int64_t warnings() const;
    std::string to_text() const;       // what `segcore lint` prints
    std::string to_json_text() const;  // the same as JSON (indent 2)
};

struct LintOptions {
    int max_examples = 5;
};

LintReport lint_split(const DatasetSpec& spec, const std::string& split, const LintOptions& options = {});

// Lints every split that counts (split_names, in name order: a preset's optional splits only when
// their files exist).
std::vector<LintReport> lint_dataset(const DatasetSpec& spec, const LintOptions& options = {});

}  // namespace segcore::data
