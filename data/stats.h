#pragma once
// Class statistics of a split and the class weights derived from them (for weighted losses).
// Only masks are read (in parallel); every mask must be valid (run lint first).
//
// With p_c = pixels of class c and P = the labelled pixels of the split (ignored pixels excluded):
//   frequency        f_c = p_c / P
//   median_frequency w_c = median_k(g_k) / g_c, g_c = p_c / (pixels of the images where c occurs)
//                    (Eigen & Fergus 2015, as SegNet uses it; the median runs over present classes)
//   inverse_sqrt     w_c = 1 / sqrt(f_c), scaled so the mean over present classes is 1
//   enet             w_c = 1 / ln(1.02 + f_c)  (Paszke et al. 2016)
// A class that never occurs gets weight 0 in every scheme.
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset_spec.h"

namespace segcore::data {

struct ClassStats {
    std::string dataset, split;
    std::vector<std::string> classes;
    int64_t images = 0;
    int64_t total_pixels = 0, ignored_pixels = 0;
    std::vector<int64_t> pixels;                 // per class
    std::vector<int64_t> images_with;            // per class: images where it occurs
    std::vector<int64_t> pixels_of_images_with;  // per class: all pixels of those images

    int64_t labelled_pixels() const { return total_pixels - ignored_pixels; }
    std::vector<double> frequencies() const;
};

ClassStats compute_class_stats(const DatasetSpec& spec, const std::string& split);

std::vector<double> median_frequency_weights(const ClassStats& s);
std::vector<double> inverse_sqrt_weights(const ClassStats& s);
std::vector<double> enet_weights(const ClassStats& s, double c = 1.02);

// "[0.2790, 0.2021, ...]": a JSON array with `decimals` digits after the point.
std::string weights_json_array(const std::vector<double>& w, int decimals = 4);

std::string stats_to_text(const ClassStats& s);       // a table, then the weight arrays
std::string stats_to_json_text(const ClassStats& s);  // everything, JSON (indent 2)

}  // namespace segcore::data
