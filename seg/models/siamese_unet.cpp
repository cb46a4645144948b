#include "seg/models/siamese_unet.h"

#include "core/error.h"

namespace segcore::seg {

namespace F = segcore::autograd;

ConsistencyType consistency_type_from_string(const std::string& s) {
    if (s == "mse") return ConsistencyType::Mse;
    if (s == "cosine") return ConsistencyType::Cosine;
    SEGCORE_THROW("feature consistency: unknown type \"", s, "\" (allowed: mse, cosine)");
}

const char* to_string(ConsistencyType t) { return t == ConsistencyType::Mse ? "mse" : "cosine"; }

namespace {

// f / sqrt(sum_c f^2 + eps^2) along channels: unit vectors where |f| >> eps, ~0 where f ~ 0.
Variable normalise_channels(const Variable& f, double eps) {
    return F::div(f, F::sqrt(F::add(F::sum(F::square(f), {1}, true), eps * eps)));
}

}  // namespace

Variable feature_consistency(const SegOutput& a, const SegOutput& b, ConsistencyType type, double eps) {
    SEGCORE_CHECK(!a.features.empty() && a.features.size() == b.features.size(),
                  "feature_consistency: both outputs need the same number of features (at least one), got ",
                  a.features.size(), " and ", b.features.size());
    Variable total;
    for (size_t i = 0; i < a.features.size(); ++i) {
        const Variable &fa = a.features[i], &fb = b.features[i];
        SEGCORE_CHECK(fa.dim() == 4 && fa.shape() == fb.shape(), "feature_consistency: feature ", i,
                      " differs in shape between the views (", shape_str(fa.shape()), " vs ", shape_str(fb.shape()),
                      "); both views must have the same size");
        Variable term;
        if (type == ConsistencyType::Mse) {
            term = F::mean(F::square(F::sub(fa, fb)));
        } else {
            const Variable d = F::sub(normalise_channels(fa, eps), normalise_channels(fb, eps));
            term = F::mul(F::mean(F::sum(F::square(d), {1})), 0.5);
        }
        total = i == 0 ? term : F::add(total, term);
    }
    return a.features.size() == 1 ? total : F::div(total, double(a.features.size()));
}

SiameseUNet::SiameseUNet(const SiameseUNetConfig& c) : SegModel("SiameseUNet", c.num_classes), cfg(c) {
    SEGCORE_CHECK(c.in_channels >= 1 && c.num_classes >= 1 && c.depth >= 1 && c.base_width >= 1,
                  "SiameseUNet: in_channels, num_classes, depth and base_width must be >= 1");
    // U-Net's modules in U-Net's order (unet.cpp), so the two state dicts are interchangeable.
    const auto width = [&](int64_t i) { return c.base_width << i; };
    inc_ = register_module("inc", std::make_shared<DoubleConv>(c.in_channels, width(0)));
    for (int64_t i = 1; i <= c.depth; ++i)
        down_.push_back(
            register_module("down" + std::to_string(i), std::make_shared<DoubleConv>(width(i - 1), width(i))));
    for (int64_t i = c.depth; i >= 1; --i) {
        if (!c.bilinear)
            up_.push_back(register_module("up" + std::to_string(i),
                                          std::make_shared<nn::ConvTranspose2d>(
                                              width(i), width(i - 1), 2, nn::ConvTranspose2dConfig{.stride = 2})));
        const int64_t in = c.bilinear ? width(i) + width(i - 1) : 2 * width(i - 1);
        up_conv_.push_back(
            register_module("up" + std::to_string(i) + "_conv", std::make_shared<DoubleConv>(in, width(i - 1))));
    }
    outc_ = register_module("outc", std::make_shared<nn::Conv2d>(width(0), c.num_classes, 1));
}

SegOutput SiameseUNet::forward_seg(const Variable& x) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == cfg.in_channels, "SiameseUNet: expected (N, ", cfg.in_channels,
                  ", H, W) input, got ", shape_str(x.shape()));
    std::vector<Variable> skips{(*inc_)(x)};
    for (auto& d : down_) skips.push_back((*d)(F::max_pool2d(skips.back(), ops::MaxPool2dOptions::make(2))));
    const Variable bottleneck = skips.back();
    Variable y = bottleneck;
    for (size_t j = 0; j < up_conv_.size(); ++j) {
        const Variable& skip = skips[skips.size() - 2 - j];
        const Variable u = cfg.bilinear ? F::interpolate(y, ops::InterpolateOptions::scale(2.0, 2.0)) : (*up_[j])(y);
        y = (*up_conv_[j])(pad_and_concat(skip, u));
    }
    return {(*outc_)(y), {}, {bottleneck}};
}

std::pair<SegOutput, SegOutput> SiameseUNet::forward_pair(const Variable& view_a, const Variable& view_b) {
    SegOutput a = forward_seg(view_a);
    return {std::move(a), forward_seg(view_b)};
}

Variable SiameseUNet::consistency(const SegOutput& a, const SegOutput& b) const {
    return feature_consistency(a, b, cfg.consistency);
}

std::string SiameseUNet::extra_repr() const {
    return "in_channels=" + std::to_string(cfg.in_channels) + ", num_classes=" + std::to_string(cfg.num_classes) +
           ", depth=" + std::to_string(cfg.depth) + ", base_width=" + std::to_string(cfg.base_width) +
           ", up=" + (cfg.bilinear ? "bilinear" : "transpose") + ", consistency=" + to_string(cfg.consistency);
}

std::shared_ptr<SegModel> build_siamese_unet(JsonReader& r, int64_t num_classes, int64_t in_channels) {
    SiameseUNetConfig c;
    c.num_classes = num_classes;
    c.in_channels = in_channels;
    c.depth = r.integer("depth", c.depth, 1, 8);
    c.base_width = r.integer("base_width", c.base_width, 1, 1024);
    c.bilinear = r.boolean("bilinear", c.bilinear);
    c.consistency = consistency_type_from_string(r.string("consistency", "cosine", {"mse", "cosine"}));
    r.finish();
    return std::make_shared<SiameseUNet>(c);
}

}  // namespace segcore::seg
