#include "seg/models/deeplab.h"

#include <sstream>

#include "autograd/functions.h"
#include "core/error.h"

namespace segcore::seg {

namespace F = segcore::autograd;

namespace {

constexpr nn::BatchNormConfig kBnRelu{.act = kernels::Act::Relu};

std::vector<int64_t> rates_or_default(const std::vector<int64_t>& rates, int64_t output_stride) {
    return rates.empty() ? default_aspp_rates(output_stride) : rates;
}

std::string rates_str(const std::vector<int64_t>& rates) {
    std::string s;
    for (int64_t r : rates) s += (s.empty() ? "" : ", ") + std::to_string(r);
    return "[" + s + "]";
}

}  // namespace

std::vector<int64_t> default_aspp_rates(int64_t output_stride) {
    SEGCORE_CHECK(output_stride == 8 || output_stride == 16, "DeepLab: output_stride must be 8 or 16, got ",
                  output_stride);
    return output_stride == 8 ? std::vector<int64_t>{12, 24, 36} : std::vector<int64_t>{6, 12, 18};
}

// ---- DeepLabv3 ----

DeepLabHead::DeepLabHead(int64_t in, int64_t num_classes, std::vector<int64_t> rates) : nn::Module("DeepLabHead") {
    // Child names are torchvision's Sequential indices; "3" is its ReLU, fused into the BN here.
    aspp = register_module("0", std::make_shared<nn::ASPP>(in, std::move(rates), 256));
    conv =
        register_module("1", std::make_shared<nn::Conv2d>(256, 256, 3, nn::Conv2dConfig{.padding = 1, .bias = false}));
    bn = register_module("2", std::make_shared<nn::BatchNorm2d>(256, kBnRelu));
    cls = register_module("4", std::make_shared<nn::Conv2d>(256, num_classes, 1));
}

Variable DeepLabHead::forward(const Variable& x) { return (*cls)((*bn)((*conv)((*aspp)(x)))); }

DeepLabV3::DeepLabV3(const DeepLabV3Config& c)
    : SimpleSegmentationModel("DeepLabV3", c.num_classes, c.backbone), cfg(c) {
    set_heads(std::make_shared<DeepLabHead>(last_channels(), c.num_classes,
                                            rates_or_default(c.aspp_rates, c.backbone.output_stride)),
              c.aux_loss);
}

std::string DeepLabV3::extra_repr() const {
    std::ostringstream os;
    os << "backbone=" << cfg.backbone.name << ", output_stride=" << cfg.backbone.output_stride
       << ", aspp_rates=" << rates_str(rates_or_default(cfg.aspp_rates, cfg.backbone.output_stride))
       << ", num_classes=" << cfg.num_classes << ", aux_loss=" << (cfg.aux_loss ? "true" : "false");
    return os.str();
}

// ---- DeepLabv3+ ----

DeepLabV3PlusHead::DeepLabV3PlusHead(int64_t high, int64_t low, int64_t num_classes, std::vector<int64_t> rates,
                                     int64_t channels, int64_t low_level_channels)
    : nn::Module("DeepLabV3PlusHead") {
    SEGCORE_CHECK(channels >= 1 && low_level_channels >= 1 && num_classes >= 1,
                  "DeepLabV3PlusHead: channels, low_level_channels and num_classes must be >= 1");
    aspp = register_module("aspp", std::make_shared<nn::ASPP>(high, std::move(rates), channels));
    low_level = register_module("low_level", std::make_shared<nn::ConvBNAct>(low, low_level_channels, 1));
    fuse = register_module("fuse", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
                                       std::make_shared<nn::ConvBNAct>(channels + low_level_channels, channels, 3),
                                       std::make_shared<nn::ConvBNAct>(channels, channels, 3)}));
    cls = register_module("cls", std::make_shared<nn::Conv2d>(channels, num_classes, 1));
}

Variable DeepLabV3PlusHead::forward(const Variable& low, const Variable& high) {
    const Variable l = (*low_level)(low);
    // Resize to the stride-4 map's own size rather than by x4 (or x2): with odd inputs the stages
    // round up differently (97 -> 25 at stride 4, 7 at stride 16, and 7 * 4 != 25).
    const Variable a = upsample_like((*aspp)(high), l);
    return (*cls)((*fuse)(F::concat({a, l}, 1)));
}

DeepLabV3Plus::DeepLabV3Plus(const DeepLabV3PlusConfig& c)
    : SimpleSegmentationModel("DeepLabV3Plus", c.num_classes, c.backbone), cfg(c) {
    const std::vector<FeatureInfo> info = backbone->feature_info();
    // The deepest stage still at stride 4 (ResNet layer1, MobileNetV2 features.3).
    low_index_ = info.size();
    for (size_t i = 0; i < info.size(); ++i)
        if (info[i].stride == 4) low_index_ = i;
    SEGCORE_CHECK(low_index_ < info.size(), "DeepLabV3Plus: backbone '", c.backbone.name, "' has no stride-4 stage");
    set_heads(std::make_shared<DeepLabV3PlusHead>(info.back().channels, info[low_index_].channels, c.num_classes,
                                                  rates_or_default(c.aspp_rates, c.backbone.output_stride), c.channels,
                                                  c.low_level_channels),
              c.aux_loss);
}

Variable DeepLabV3Plus::classify(const std::vector<Variable>& features) {
    return static_cast<DeepLabV3PlusHead&>(*classifier).forward(features[low_index_], features.back());
}

std::string DeepLabV3Plus::extra_repr() const {
    std::ostringstream os;
    os << "backbone=" << cfg.backbone.name << ", output_stride=" << cfg.backbone.output_stride
       << ", aspp_rates=" << rates_str(rates_or_default(cfg.aspp_rates, cfg.backbone.output_stride))
       << ", channels=" << cfg.channels << ", low_level_channels=" << cfg.low_level_channels
       << ", num_classes=" << cfg.num_classes << ", aux_loss=" << (cfg.aux_loss ? "true" : "false");
    return os.str();
}

// ---- JSON ----

namespace {

std::vector<int64_t> read_rates(JsonReader& r, int64_t output_stride) {
    std::vector<int64_t> rates = r.integers("aspp_rates", default_aspp_rates(output_stride), 1, 64);
    SEGCORE_CHECK(!rates.empty() && rates.size() <= 8, r.path_of("aspp_rates"), ": expected 1 to 8 atrous rates, got ",
                  rates.size());
    return rates;
}

}  // namespace

std::shared_ptr<SegModel> build_deeplabv3(JsonReader& r, int64_t num_classes, int64_t in_channels) {
    DeepLabV3Config c;
    c.num_classes = num_classes;
    c.backbone = read_seg_backbone(r, in_channels, {8, 16}, 8);
    c.aspp_rates = read_rates(r, c.backbone.output_stride);
    c.aux_loss = r.boolean("aux_loss", c.aux_loss);
    r.finish();
    return std::make_shared<DeepLabV3>(c);
}

std::shared_ptr<SegModel> build_deeplabv3plus(JsonReader& r, int64_t num_classes, int64_t in_channels) {
    DeepLabV3PlusConfig c;
    c.num_classes = num_classes;
    c.backbone = read_seg_backbone(r, in_channels, {8, 16}, 16);
    c.aspp_rates = read_rates(r, c.backbone.output_stride);
    c.channels = r.integer("channels", c.channels, 1, 4096);
    c.low_level_channels = r.integer("low_level_channels", c.low_level_channels, 1, 4096);
    c.aux_loss = r.boolean("aux_loss", c.aux_loss);
    r.finish();
    return std::make_shared<DeepLabV3Plus>(c);
}

}  // namespace segcore::seg
