#include "seg/models/backbones/mobilenetv2.h"

#include <algorithm>
#include <sstream>

#include "autograd/functions.h"
#include "core/error.h"
#include "nn/layers/conv_bn_act.h"
#include "nn/layers/linear.h"

namespace segcore::seg {

int64_t make_divisible(double v, int64_t divisor) {
    // Python: max(divisor, int(v + divisor / 2) // divisor * divisor), bumped by one divisor when
    // rounding down lost more than 10%. v is positive, so truncation is floor.
    int64_t new_v = std::max(divisor, int64_t(v + double(divisor) / 2.0) / divisor * divisor);
    if (double(new_v) < 0.9 * v) new_v += divisor;
    return new_v;
}

namespace {

struct Stage {
    int64_t expand_ratio, channels, blocks, stride;
};
const Stage kSetting[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

}  // namespace

MobileNetV2::MobileNetV2(MobileNetV2Config c, TensorOptions opt) : Backbone("MobileNetV2"), cfg(c) {
    SEGCORE_CHECK(c.output_stride == 32 || c.output_stride == 16 || c.output_stride == 8,
                  "MobileNetV2: output_stride must be 32, 16 or 8, got ", c.output_stride);
    SEGCORE_CHECK(c.in_channels > 0 && c.width_mult > 0 && c.round_nearest > 0,
                  "MobileNetV2: in_channels, width_mult and round_nearest must be positive, got ", c.in_channels, ", ",
                  c.width_mult, ", ", c.round_nearest);
    int64_t in_ch = make_divisible(32 * c.width_mult, c.round_nearest);
    const int64_t last_ch = make_divisible(1280 * std::max(1.0, c.width_mult), c.round_nearest);

    // Per feature: its output channels, its actual stride, and the stride it would have without
    // dilation (a stage ends where the nominal stride next grows).
    std::vector<int64_t> channels, stride, nominal;
    auto record = [&](int64_t ch, int64_t actual, int64_t without_dilation) {
        channels.push_back(ch);
        stride.push_back(actual);
        nominal.push_back(without_dilation);
    };
    features = register_module("features", std::make_shared<nn::Sequential>());
    features->push_back(std::make_shared<nn::ConvBNAct>(
        c.in_channels, in_ch, 3, nn::ConvBNActConfig{.stride = 2, .act = kernels::Act::Relu6}, opt));
    record(in_ch, 2, 2);

    int64_t current_stride = 2, dilation = 1;
    for (const Stage& s : kSetting) {
        const int64_t out_ch = make_divisible(double(s.channels) * c.width_mult, c.round_nearest);
        const int64_t previous_dilation = dilation;
        int64_t first_stride = s.stride;
        if (current_stride * s.stride > c.output_stride) {
            dilation *= s.stride;  // trade the stride for dilation from this stage on
            first_stride = 1;
        } else {
            current_stride *= s.stride;
        }
        for (int64_t i = 0; i < s.blocks; ++i) {
            const nn::InvertedResidualConfig bc{.stride = i == 0 ? first_stride : 1,
                                                .dilation = i == 0 ? previous_dilation : dilation,
                                                .expand_ratio = double(s.expand_ratio)};
            features->push_back(std::make_shared<nn::InvertedResidual>(in_ch, out_ch, bc, opt));
            in_ch = out_ch;
            record(out_ch, current_stride, nominal.back() * (i == 0 ? s.stride : 1));
        }
    }
    features->push_back(
        std::make_shared<nn::ConvBNAct>(in_ch, last_ch, 1, nn::ConvBNActConfig{.act = kernels::Act::Relu6}, opt));
    record(last_ch, current_stride, nominal.back());

    for (size_t i = 0; i < nominal.size(); ++i) {
        if (i + 1 < nominal.size() && nominal[i + 1] == nominal[i]) continue;
        stage_ends_.push_back(i);
        info_.push_back({"features." + std::to_string(i), channels[i], stride[i]});
    }

    if (c.with_classifier) {
        classifier = register_module("classifier", std::make_shared<nn::Sequential>());
        classifier->push_back(std::make_shared<nn::Dropout>(c.dropout));
        classifier->push_back(std::make_shared<nn::Linear>(last_ch, c.num_classes, true, opt));
    }
}

std::vector<Variable> MobileNetV2::forward_features(const Variable& x) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == cfg.in_channels, "MobileNetV2: expected input (N, ", cfg.in_channels,
                  ", H, W), got ", shape_str(x.shape()));
    std::vector<Variable> out;
    Variable y = x;
    size_t next = 0;
    for (size_t i = 0; i < features->size(); ++i) {
        y = (*features)[i](y);
        if (next < stage_ends_.size() && stage_ends_[next] == i) {
            out.push_back(y);
            ++next;
        }
    }
    return out;
}

Variable MobileNetV2::forward_classify(const Variable& x) {
    SEGCORE_CHECK(classifier != nullptr,
                  "MobileNetV2::forward_classify: this MobileNetV2 was built without a "
                  "classifier (MobileNetV2Config.with_classifier = false)");
    Variable y = autograd::adaptive_avg_pool2d(forward_features(x).back(), 1, 1);
    return (*classifier)(autograd::flatten(y, 1));
}

std::string MobileNetV2::extra_repr() const {
    std::ostringstream os;
    os << "width_mult=" << cfg.width_mult << ", output_stride=" << cfg.output_stride;
    return os.str();
}

}  // namespace segcore::seg
