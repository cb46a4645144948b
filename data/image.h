#pragma once
// The two things a segmentation sample is made of, in host memory:
//   Image  interleaved HWC, 8-bit per channel (1 = grey, 3 = RGB, 4 = RGBA as decoded), or f32
//          after the pixel transforms (colour jitter, noise, normalise) have run;
//   Mask   one class index per pixel, HW, int32 (16-bit PNG masks fit; `ignore_index` marks
//          pixels that take no part in the loss or the metrics).
// data/ never depends on autograd or nn; a loader turns batches of these into core Tensors.
#include <cstdint>
#include <string>
#include <vector>

namespace segcore::data {

struct Image {
    int64_t height = 0, width = 0, channels = 0;
    std::vector<uint8_t> pixels;  // height * width * channels, row-major HWC

    bool empty() const { return pixels.empty(); }
    uint8_t* at(int64_t y, int64_t x) { return pixels.data() + (y * width + x) * channels; }
    const uint8_t* at(int64_t y, int64_t x) const { return pixels.data() + (y * width + x) * channels; }
};

// f32 HWC image for the pixel transforms (values on the 0-255 scale until normalised).
struct FloatImage {
    int64_t height = 0, width = 0, channels = 0;
    std::vector<float> pixels;

    float* at(int64_t y, int64_t x) { return pixels.data() + (y * width + x) * channels; }
    const float* at(int64_t y, int64_t x) const { return pixels.data() + (y * width + x) * channels; }
};

struct Mask {
    int64_t height = 0, width = 0;
    std::vector<int32_t> labels;  // height * width, row-major

    int32_t& at(int64_t y, int64_t x) { return labels[size_t(y * width + x)]; }
    int32_t at(int64_t y, int64_t x) const { return labels[size_t(y * width + x)]; }
};

// One training/evaluation sample as read from disk (after label remapping).
struct Sample {
    FloatImage image;
    Mask mask;            // empty for unlabelled images (predict)
    std::string id;       // stem of the image file, stable across runs
    std::string image_path, mask_path;
};

}  // namespace segcore::data
