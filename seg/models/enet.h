#pragma once
// ENet (Paszke et al. 2016, "ENet: A Deep Neural Network Architecture for Real-Time Semantic
// Segmentation") with the layout, module names and defaults of davidtvs/PyTorch-ENet, so its
// checkpoints load by name:
//
//   block            out ch  stride  notes
//   initial_block    16      2       conv 3x3/2 (16 - in_channels) || max-pool 3x3/2 (in_channels), BN, act
//   downsample1_0    64      4       max-pool 2x2 with indices || 2x2/2 -> 3x3 -> 1x1; dropout 0.01
//   regular1_1..1_4  64      4       dropout 0.01
//   downsample2_0    128     8       dropout 0.1 from here on
//   regular2_1, dilated2_2 (d 2), asymmetric2_3 (5x1 + 1x5), dilated2_4 (4), regular2_5,
//   dilated2_6 (8), asymmetric2_7, dilated2_8 (16)                               stage 2, stride 8
//   regular3_0, dilated3_1, asymmetric3_2, dilated3_3, regular3_4, dilated3_5,
//   asymmetric3_6, dilated3_7                                                    stage 3, stride 8
//   upsample4_0      64      4       1x1 + max-unpool (indices of downsample2_0) || 1x1 -> tconv 2x2/2 -> 1x1
//   regular4_1, regular4_2
//   upsample5_0      16      2       max-unpool with the indices of downsample1_0
//   regular5_1
//   transposed_conv  classes 1       ConvTranspose2d 3x3/2, no bias
//
// Bottlenecks have internal width in/4 and no conv biases. Activations: PReLU in the encoder and
// ReLU in the decoder by default (encoder_relu=false, decoder_relu=true, as in that repository).
//
// Shared PReLU. davidtvs builds ONE activation module per bottleneck and uses it at every
// position (ext_conv1.2, ext_conv2.2, ..., out_prelu), so a block holds one PReLU weight and
// PyTorch lists it under each of those names in state_dict(). segcore modules cannot share a
// parameter between two names without counting it twice, so the weight is owned at its first
// name (ext_conv1.2.weight; initial_block.out_prelu.weight) and the other positions hold a
// non-owning alias. Parameter counts equal PyTorch's (0.35 M for 12 classes, pinned by the golden
// test); the state dict is PyTorch's with the repeated aliases left out (a non-strict load of a
// davidtvs state dict reports them as unexpected and loads everything).
//
// Odd input sizes. Every 2x down-sampling floors, so the decoder must restore the exact size of the
// matching encoder map; davidtvs passes output_size= to MaxUnpool2d and ConvTranspose2d. Here:
//   - max-unpool takes the pre-pool size explicitly (PyTorch's output_size);
//   - the bottleneck's 2x2/2 transposed conv (no bias) gives 2h; the missing last row/column is
//     zero-padded at the bottom/right, which is exactly what output_padding = 1 produces for a
//     2x2/2 kernel without bias (no kernel tap reaches that row);
//   - the final 3x3/2 transposed conv (padding 1) needs output_padding 1 for even inputs, and that
//     extra row does get kernel taps. It runs with padding 0 (full output 2h'+1) and is cropped to
//     rows/cols [1, 1 + H): identical to PyTorch's padding=1 with output_size=(H, W) for both parities.
// The PyTorch twin in tests/golden/make_realtime_golden.py is davidtvs's code with output_size=.
// Smallest input: 7 x 7 (three halvings must leave at least one pixel).
//
// The down-sampling bottlenecks return their pooling indices (forward_with_indices) and the
// up-sampling ones take them (forward(x, indices, h, w)), so ENet calls those two methods
// directly; every layer inside them is called through operator() as usual.
#include <memory>

#include "core/json_reader.h"
#include "nn/layers.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct ENetConfig {
    int64_t in_channels = 3;  // < 16: the initial block concatenates the pooled input to 16 - in conv maps
    int64_t num_classes = 12;
    bool encoder_relu = false;  // false: PReLU in the encoder (davidtvs's default)
    bool decoder_relu = true;
};

// PyTorch's nn.PReLU() with one shared slope: y = max(0, x) + weight * min(0, x), weight
// initialised to 0.25. An alias (see above) uses another PReLU's weight without owning it.
class PReLU : public nn::Module {
public:
    PReLU();                                 // owns "weight"
    explicit PReLU(Variable shared_weight);  // alias: registers nothing
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;
    Variable weight;

private:
    bool alias_ = false;
};

class ENetRegularBottleneck;
class ENetDownsamplingBottleneck;
class ENetUpsamplingBottleneck;
class ENetInitialBlock;

class ENet : public SegModel {
public:
    explicit ENet(const ENetConfig& cfg);
    SegOutput forward_seg(const Variable& x) override;
    std::string extra_repr() const override;
    const ENetConfig cfg;

private:
    std::shared_ptr<ENetInitialBlock> initial_;
    std::shared_ptr<ENetDownsamplingBottleneck> down1_, down2_;
    std::vector<std::shared_ptr<ENetRegularBottleneck>> stage1_, stage23_, stage4_, stage5_;
    std::shared_ptr<ENetUpsamplingBottleneck> up4_, up5_;
    std::shared_ptr<nn::ConvTranspose2d> transposed_conv_;
};

// JSON keys: encoder_relu (bool, false), decoder_relu (bool, true); in_channels must be < 16.
std::shared_ptr<SegModel> build_enet(JsonReader& r, int64_t num_classes, int64_t in_channels);

}  // namespace segcore::seg
