#pragma once
// The smallest input a model runs on. Networks downsample by strides and pools; an image smaller
// than the network's total reach fails deep inside with a message about one layer ("max_pool2d:
// output would be empty") that names neither the image nor the size needed. Eval and predict call
// explain_input_size_failure after an inference error: when the image (or one of the views that
// sliding windows and scale TTA make of it) is smaller than the model accepts, it throws an error
// naming the image, its size, the smallest view and the model's minimum; otherwise it returns and
// the caller rethrows the original error. The model is probed only then, so a good run pays nothing.
#include <cstdint>
#include <string>
#include <utility>

#include "core/device.h"
#include "seg/inference/infer.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct InputSizeRule {
    int64_t min_size = 0;  // the smallest H (and W) the model runs on; 0: none found up to 1024
    int64_t divisor = 1;   // sizes min_size + k * divisor run (1 for every model segcore ships)
    bool known() const { return min_size > 0; }
    bool accepts(int64_t size) const { return size >= min_size && (size - min_size) % divisor == 0; }
    // "at least 32 x 32 pixels" (+ ", with H and W equal to 32 + a multiple of 8" when divisor > 1)
    std::string str() const;
};

// Runs the model (in its current mode, under NoGrad) on zero images (1, channels, s, s) on `device`
// for growing s, then bisects: about log2(min_size) + 2 forward passes on small images.
InputSizeRule probe_input_size(SegModel& model, int64_t channels, Device device);

// The smallest height and width the model is given for an h x w image under `opt`: each scale's
// resized image (round(s H), at least 1), cut to the sliding crop when it is smaller.
std::pair<int64_t, int64_t> smallest_view(int64_t h, int64_t w, const InferOptions& opt);

// `images` (N, C, H, W) on the model's device failed inference under `opt`: throws the size error
// described above naming `what` (an image file, or the samples of a batch) when the size is the
// cause; returns otherwise.
void explain_input_size_failure(SegModel& model, const Tensor& images, const InferOptions& opt,
                                const std::string& what);

}  // namespace segcore::seg
