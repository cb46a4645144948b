#pragma once
// A procedurally drawn segmentation dataset: the offline default for demos and tests.
//
// Each scene has two textured background regions split by a wavy horizon — class 0 "field"
// (value noise) and class 1 "wall" (stripes at a random angle), either one on top — and 2 to 6
// shapes of the shape classes (circle, rectangle, triangle, star, ellipse, hexagon, ring, cross)
// drawn in order so later shapes occlude earlier ones. Each class has its own colour family with
// per-instance variation, then a gradient illumination (random direction and strength) and
// Gaussian pixel noise are applied to the whole image. Scene i always contains the shape class
// i % (classes - 2) drawn last, so every class appears in any split with at least classes - 2 scenes.
//
// Deterministic: scene (split, i) draws from SampleRng(seed, split, i) only. Written as RGB PNGs
// and 8-bit index-mask PNGs in the generic "folder" layout with a dataset.json beside them:
//   <out>/dataset.json   <out>/train/images/0000.png   <out>/train/masks/0000.png   <out>/val/...
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset_spec.h"
#include "data/image.h"

namespace segcore::data {

inline constexpr int64_t kSynthMaxClasses = 10;  // 2 backgrounds + 8 shape kinds

struct SynthOptions {
    int64_t train = 64, val = 16;  // scenes per split
    int64_t height = 96, width = 128;
    int64_t classes = 6;  // 3..10: the 2 backgrounds + the first classes-2 shape kinds
    uint64_t seed = 0;
    int64_t min_shapes = 2, max_shapes = 6;
    double noise_std = 6.0;  // pixel noise, 0-255 scale
};

struct SynthScene {
    Image image;  // RGB, 8-bit
    Mask mask;    // class per pixel, every value in [0, classes)
};

// Scene `index` of split `split` (0 = train, 1 = val), in memory.
SynthScene synth_scene(const SynthOptions& opt, int64_t split, int64_t index);
std::vector<std::string> synth_class_names(int64_t classes);
Palette synth_palette(int64_t classes);
// The spec of the written dataset (root ".": the folder holding dataset.json).
DatasetSpec synth_dataset_spec(const SynthOptions& opt);
// Draws every scene and writes the PNGs and <out_dir>/dataset.json; returns the spec as written.
DatasetSpec write_synth_dataset(const std::string& out_dir, const SynthOptions& opt);

}  // namespace segcore::data
