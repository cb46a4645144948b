#pragma once
// Pretrained weights for a model about to be trained (a training config's model.pretrained).
// The file is a safetensors state dict holding either the whole model's names (a segcore model
// file, a converted torchvision segmentation checkpoint) or a bare backbone's: ImageNet
// classification weights converted from torchvision name their tensors conv1.weight,
// layer1.0.bn1.running_mean, fc.weight, while the model has them under backbone. (docs/weights.md).
// Both readings are tried — the names as they are, and each prefixed with "backbone." — and the
// one that matches more of the model's tensors (name and shape) is loaded, non-strictly.
#include <string>

#include "nn/module.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct PretrainedLoad {
    nn::LoadReport report;
    std::string prefix;  // "" or "backbone.": what was put before the file's names
};

// Throws naming the file when no tensor matches either way (with a few names of each side).
PretrainedLoad load_pretrained(SegModel& model, const std::string& path);

}  // namespace segcore::seg
