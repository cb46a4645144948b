#include "seg/models/fastsegnet.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"

namespace segcore::seg {

namespace F = segcore::autograd;
namespace NF = segcore::nn::functional;

namespace {

// torchvision's _make_divisible: the nearest multiple of 8, at least 8, never 10% below v.
int64_t round_channels(double v) {
    const int64_t d = 8;
    int64_t r = std::max<int64_t>(d, int64_t(v + d / 2.0) / d * d);
    if (double(r) < 0.9 * v) r += d;
    return r;
}

// MobileNetV2's inverted-residual table up to its last 320-channel block (t, c, n, s).
struct Stage {
    double t;
    int64_t c, n, s;
};
constexpr Stage kStages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                             {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
// Indices in `features` whose outputs the decoder taps: the last block at strides 8, 16, 32.
constexpr size_t kTap8 = 6, kTap16 = 13, kTap32 = 17;

std::shared_ptr<nn::Sequential> seg_head(int64_t in, int64_t hidden, int64_t classes) {
    return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
        std::make_shared<nn::DepthwiseSeparableConv2d>(in, hidden), std::make_shared<nn::Conv2d>(hidden, classes, 1)});
}

}  // namespace

FastSegNet::FastSegNet(const FastSegNetConfig& c) : SegModel("FastSegNet", c.num_classes), cfg(c) {
    SEGCORE_CHECK(
        c.in_channels >= 1 && c.num_classes >= 1 && c.width_mult > 0 && c.context_channels >= 4 && c.head_channels >= 1,
        "FastSegNet: in_channels, num_classes, head_channels >= 1, width_mult > 0 and context_channels >= 4 ",
        "(the fusion module divides it by 4)");
    features = register_module("features", std::make_shared<nn::Sequential>());
    int64_t ch = round_channels(32 * c.width_mult);
    features->push_back(std::make_shared<nn::ConvBNAct>(c.in_channels, ch, 3,
                                                        nn::ConvBNActConfig{.stride = 2, .act = kernels::Act::Relu6}));
    int64_t c8 = 0, c16 = 0;
    for (const Stage& st : kStages) {
        const int64_t out = round_channels(double(st.c) * c.width_mult);
        for (int64_t i = 0; i < st.n; ++i) {
            nn::InvertedResidualConfig ir;
            ir.stride = i == 0 ? st.s : 1;
            ir.expand_ratio = st.t;
            features->push_back(std::make_shared<nn::InvertedResidual>(ch, out, ir));
            ch = out;
            if (features->size() - 1 == kTap8) c8 = ch;
            if (features->size() - 1 == kTap16) c16 = ch;
        }
    }
    const int64_t c32 = ch, C = c.context_channels;
    global_context_ = register_module("global_context", std::make_shared<nn::ConvBNAct>(c32, C, 1));
    arm32_ = register_module("arm32", std::make_shared<nn::AttentionRefinementModule>(c32, C));
    refine32_ = register_module("refine32", std::make_shared<nn::DepthwiseSeparableConv2d>(C, C));
    arm16_ = register_module("arm16", std::make_shared<nn::AttentionRefinementModule>(c16, C));
    refine16_ = register_module("refine16", std::make_shared<nn::DepthwiseSeparableConv2d>(C, C));
    ffm_ = register_module("ffm", std::make_shared<nn::FeatureFusionModule>(c8 + C, C));
    head_ = register_module("head", seg_head(C, c.head_channels, c.num_classes));
    aux16_ = register_module("aux16", seg_head(C, c.head_channels, c.num_classes));
    aux32_ = register_module("aux32", seg_head(C, c.head_channels, c.num_classes));
}

SegOutput FastSegNet::forward_seg(const Variable& x) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == cfg.in_channels, "FastSegNet: expected (N, ", cfg.in_channels,
                  ", H, W) input, got ", shape_str(x.shape()));
    const int64_t h = x.size(2), w = x.size(3);
    Variable f8, f16, y = x;
    for (size_t i = 0; i < features->size(); ++i) {
        y = (*features)[i](y);
        if (i == kTap8) f8 = y;
        if (i == kTap16) f16 = y;
    }
    const Variable& f32 = y;
    // The global context is one vector per image, added to every position (BiSeNet upsamples it
    // first; broadcasting is the same sum without the copy).
    const Variable gc = (*global_context_)(F::adaptive_avg_pool2d(f32, 1, 1));
    const Variable ctx32 = (*refine32_)(NF::resize_bilinear(F::add((*arm32_)(f32), gc), f16.size(2), f16.size(3)));
    const Variable ctx16 = (*refine16_)(NF::resize_bilinear(F::add((*arm16_)(f16), ctx32), f8.size(2), f8.size(3)));
    SegOutput o;
    o.out = NF::resize_bilinear((*head_)(ffm_->forward(f8, ctx16)), h, w);
    if (is_training()) {
        o.aux.emplace_back("aux16", NF::resize_bilinear((*aux16_)(ctx16), h, w));
        o.aux.emplace_back("aux32", NF::resize_bilinear((*aux32_)(ctx32), h, w));
    }
    return o;
}

std::string FastSegNet::extra_repr() const {
    std::ostringstream os;
    os << "in_channels=" << cfg.in_channels << ", num_classes=" << cfg.num_classes << ", width_mult=" << cfg.width_mult
       << ", context_channels=" << cfg.context_channels << ", head_channels=" << cfg.head_channels;
    return os.str();
}

std::shared_ptr<SegModel> build_fastsegnet(JsonReader& r, int64_t num_classes, int64_t in_channels) {
    FastSegNetConfig c;
    c.num_classes = num_classes;
    c.in_channels = in_channels;
    c.width_mult = r.number("width_mult", c.width_mult, 0.1, 4.0);
    c.context_channels = r.integer("context_channels", c.context_channels, 8, 1024);
    c.head_channels = r.integer("head_channels", c.head_channels, 4, 1024);
    r.finish();
    return std::make_shared<FastSegNet>(c);
}

}  // namespace segcore::seg
