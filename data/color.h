#pragma once
// Colour-space helpers shared by the colour transforms (data/transforms_color.cpp: hue jitter)
// and the visualisations (seg/inference/visualize.cpp: the default class palette).
#include <algorithm>
#include <array>
#include <cmath>

namespace segcore::data {

// HSV -> RGB, every value in [0, 1], hue in turns (h in [0, 1)). torchvision's _hsv2rgb: six
// sectors of the hue circle, each a linear ramp between the value v and the floor v (1 - s); the
// result is clamped to [0, 1]. Float math, so the hue jitter matches torchvision's f32 kernel.
inline std::array<float, 3> hsv_to_rgb(float h, float s, float v) {
    const float h6 = h * 6.f;
    const float fi = std::floor(h6);
    const float fr = h6 - fi;
    const int sector = int(fi) % 6;
    const float p = std::clamp(v * (1.f - s), 0.f, 1.f);
    const float q = std::clamp(v * (1.f - s * fr), 0.f, 1.f);
    const float t = std::clamp(v * (1.f - s * (1.f - fr)), 0.f, 1.f);
    switch (sector) {
        case 0: return {v, t, p};
        case 1: return {q, v, p};
        case 2: return {p, v, t};
        case 3: return {p, q, v};
        case 4: return {t, p, v};
        default: return {v, p, q};
    }
}

}  // namespace segcore::data
