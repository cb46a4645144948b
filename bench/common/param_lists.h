#pragma once
// Parameter-tensor size lists of real networks, for optimiser benchmarks.
#include <cstdint>
#include <vector>

#include "core/shape.h"

namespace segcore::bench {

// torchvision ResNet-50: 161 tensors, 25,557,032 parameters (conv weights without bias, BatchNorm
// weight and bias, the 1000-class fc weight and bias), in module order.
inline std::vector<Shape> resnet50_param_shapes() {
    std::vector<Shape> s;
    auto conv_bn = [&](int64_t out, int64_t in, int64_t k) {
        s.push_back({out, in, k, k});
        s.push_back({out});
        s.push_back({out});
    };
    conv_bn(64, 3, 7);
    int64_t in = 64;
    const int64_t widths[4] = {64, 128, 256, 512}, blocks[4] = {3, 4, 6, 3};
    for (int l = 0; l < 4; ++l) {
        const int64_t w = widths[l];
        for (int64_t b = 0; b < blocks[l]; ++b) {
            conv_bn(w, in, 1);
            conv_bn(w, w, 3);
            conv_bn(4 * w, w, 1);
            if (b == 0) conv_bn(4 * w, in, 1);  // downsample
            in = 4 * w;
        }
    }
    s.push_back({1000, 2048});
    s.push_back({1000});
    return s;
}

}  // namespace segcore::bench
