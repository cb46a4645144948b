#pragma once
// U-Net (Ronneberger et al. 2015) with batch norm, the common modern variant:
//
//   inc      DoubleConv(in -> w0)                                   w_i = base_width * 2^i
//   down<i>  max-pool 2x2, DoubleConv(w_{i-1} -> w_i)                i = 1..depth
//   up<i>    up-sample x2 (transposed conv w_i -> w_{i-1}, or bilinear keeping w_i channels),
//            zero-pad to the skip's size (odd inputs), concat [skip, up], DoubleConv(-> w_{i-1})
//   outc     Conv2d 1x1 (w0 -> num_classes)
//
// DoubleConv = (Conv3x3 no bias, BN + ReLU) x 2, named conv1/bn1/conv2/bn2. Any input size works:
// pooling floors, and the decoder pads each up-sampled map to its skip connection.
#include <memory>
#include <vector>

#include "nn/layers.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct UNetConfig {
    int64_t in_channels = 3;
    int64_t num_classes = 2;
    int64_t depth = 4;          // number of 2x down-sampling steps
    int64_t base_width = 64;    // channels of the first stage
    bool bilinear = false;      // up-sampling: false = ConvTranspose2d(k=2, s=2), true = bilinear
};

class DoubleConv : public nn::Module {
public:
    DoubleConv(int64_t in, int64_t out);
    Variable forward(const Variable& x) override;
    std::shared_ptr<nn::Conv2d> conv1, conv2;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
};

class UNet : public SegModel {
public:
    explicit UNet(const UNetConfig& cfg);
    SegOutput forward_seg(const Variable& x) override;
    std::string extra_repr() const override;
    const UNetConfig cfg;

private:
    std::shared_ptr<DoubleConv> inc_;
    std::vector<std::shared_ptr<DoubleConv>> down_, up_conv_;  // down_[i-1] = down<i>
    std::vector<std::shared_ptr<nn::ConvTranspose2d>> up_;     // empty in bilinear mode
    std::shared_ptr<nn::Conv2d> outc_;
};

// Decoder step shared by U-Net-like models: bring `up` to `skip`'s spatial size (zero-pad when
// smaller, as pooling floors odd sizes) and concatenate [skip, up] along channels.
Variable pad_and_concat(const Variable& skip, const Variable& up);

}  // namespace segcore::seg
