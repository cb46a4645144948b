#pragma once
// SegModel: what every segmentation network is to the trainer, the evaluator and the runtime.
//
//   SegOutput o = model.forward_seg(images);   // images (N, C_in, H, W)
//   o.out       logits (N, num_classes, H, W) at the input resolution
//   o.aux       auxiliary heads' logits, also at the input resolution, by name ("aux", "aux2", ...);
//               present only in training mode, like torchvision (the trainer weights them)
//   o.features  embeddings a loss may compare (the Siamese U-Net's consistency term); usually empty
//
// forward(x) returns o.out, so a SegModel is also a plain Module. Models accept any input size
// (odd ones too: 97x131): decoders resize to their skip connection's size, never assume a power
// of two. Parameter names follow the reference implementation (torchvision where one exists) so
// state dicts load unchanged.
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"

namespace segcore::seg {

using autograd::Variable;

struct SegOutput {
    Variable out;
    std::vector<std::pair<std::string, Variable>> aux;
    std::vector<Variable> features;
};

class SegModel : public nn::Module {
public:
    SegModel(std::string type_name, int64_t num_classes) : nn::Module(std::move(type_name)), num_classes_(num_classes) {}
    virtual SegOutput forward_seg(const Variable& x) = 0;
    Variable forward(const Variable& x) override { return forward_seg(x).out; }
    int64_t num_classes() const { return num_classes_; }

private:
    int64_t num_classes_;
};

}  // namespace segcore::seg
