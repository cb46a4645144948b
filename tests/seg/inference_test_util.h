#pragma once
// Shared by the inference, predict and visualize suites: a model whose logits are one convolution
// (k = 1: pixelwise, so translation-invariant and flip-equivariant; k = 3: sees its neighbours),
// and a temporary folder removed at the end of the test.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "nn/layers/conv.h"
#include "seg/models/model.h"

namespace segcore::test {

class ConvNet : public seg::SegModel {
public:
    // symmetric: the 3x3 kernel's right column is set to its left one, so the model commutes with
    // a left-right flip (zero padding is symmetric too).
    ConvNet(int64_t in_channels, int64_t classes, int64_t k, bool symmetric = false) : SegModel("ConvNet", classes) {
        conv = register_module(
            "conv", std::make_shared<nn::Conv2d>(in_channels, classes, k, nn::Conv2dConfig{.padding = k / 2}));
        if (symmetric) {
            float* w = conv->weight.data().data<float>();
            for (int64_t plane = 0; plane < classes * in_channels; ++plane)
                for (int64_t r = 0; r < k; ++r)
                    for (int64_t c = 0; c < k / 2; ++c)
                        w[(plane * k + r) * k + (k - 1 - c)] = w[(plane * k + r) * k + c];
        }
    }
    seg::SegOutput forward_seg(const autograd::Variable& x) override { return {(*conv)(x), {}, {}}; }
    std::shared_ptr<nn::Conv2d> conv;
};

struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("segcore_test_" + name + "_" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string operator/(const std::string& rel) const { return (path / rel).string(); }
};

}  // namespace segcore::test
