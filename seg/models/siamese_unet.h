#pragma once
// Siamese U-Net for domain generalisation (/work/shared/seeds/004_*): two weight-sharing branches
// see two views of the same image (e.g. two photometric / style augmentations), each predicts the
// segmentation, and a consistency term pulls their bottleneck features together so the encoder
// learns what the views have in common (the content) and ignores what differs (the domain).
//
// "Two branches" is one network applied twice: there is a single set of parameters, with exactly
// U-Net's modules, names and registration order (inc, down<i>, up<i>, up<i>_conv, outc; see
// seg/models/unet.h), so a trained U-Net's state dict loads unchanged and vice versa.
//
//   forward_seg(x)          one branch: o.out logits (N, classes, H, W); o.features = {bottleneck}
//                           (N, base_width * 2^depth, H / 2^depth, W / 2^depth) (floors)
//   forward_pair(a, b)      {forward_seg(a), forward_seg(b)}: the branches run one after the other,
//                           so batch-norm statistics are per view, as two forward_seg calls
//   feature_consistency(oa, ob, type) a scalar the trainer adds to the loss (weighted):
//     "mse"     mean over all elements of (f_a - f_b)^2 on the raw bottleneck features. Sensitive
//               to feature scale as well as direction.
//     "cosine"  mean over pixels of 1 - cos(f_a, f_b) between the channel vectors, computed as
//               0.5 * || u_a - u_b ||^2 with u = f / sqrt(|f|^2 + eps^2) (L2-normalised; equal to
//               1 - cos for |f| >> eps). This form is exactly 0 for identical views even where a
//               ReLU leaves a pixel's vector all zero, and its gradient is finite there.
//               Scale-invariant: the encoder cannot satisfy it by shrinking its features.
//   (mse of the normalised vectors would be 2 (1 - cos): the cosine type already covers it.)
// The gradient flows into both branches (neither side is detached), and from both into the one
// set of encoder weights.
#include <memory>
#include <utility>
#include <vector>

#include "core/json_reader.h"
#include "seg/models/unet.h"

namespace segcore::seg {

enum class ConsistencyType { Mse, Cosine };

// "mse" | "cosine" (the JSON spelling); throws listing both otherwise.
ConsistencyType consistency_type_from_string(const std::string& s);
const char* to_string(ConsistencyType t);

// The consistency of two forward passes' `features` (same count and shapes; 4-d (N, C, H, W)),
// averaged over the feature pairs. A scalar Variable of the features' dtype.
Variable feature_consistency(const SegOutput& a, const SegOutput& b, ConsistencyType type = ConsistencyType::Cosine,
                             double eps = 1e-6);

struct SiameseUNetConfig {
    int64_t in_channels = 3;
    int64_t num_classes = 2;
    int64_t depth = 4;
    int64_t base_width = 64;
    bool bilinear = false;
    ConsistencyType consistency = ConsistencyType::Cosine;  // what consistency() computes
};

class SiameseUNet : public SegModel {
public:
    explicit SiameseUNet(const SiameseUNetConfig& cfg);
    SegOutput forward_seg(const Variable& x) override;
    std::pair<SegOutput, SegOutput> forward_pair(const Variable& view_a, const Variable& view_b);
    // feature_consistency with the configured type.
    Variable consistency(const SegOutput& a, const SegOutput& b) const;
    std::string extra_repr() const override;
    const SiameseUNetConfig cfg;

private:
    std::shared_ptr<DoubleConv> inc_;
    std::vector<std::shared_ptr<DoubleConv>> down_, up_conv_;
    std::vector<std::shared_ptr<nn::ConvTranspose2d>> up_;  // empty in bilinear mode
    std::shared_ptr<nn::Conv2d> outc_;
};

// JSON keys: depth ([1, 8], 4), base_width ([1, 1024], 64), bilinear (false),
// consistency ("mse" | "cosine", "cosine").
std::shared_ptr<SegModel> build_siamese_unet(JsonReader& r, int64_t num_classes, int64_t in_channels);

}  // namespace segcore::seg
