#include "seg/models/enet.h"

#include <cmath>

#include "core/error.h"

namespace segcore::seg {

namespace F = segcore::autograd;

// ---- PReLU ----

PReLU::PReLU() : nn::Module("PReLU") { weight = register_parameter("weight", full({1}, 0.25)); }

PReLU::PReLU(Variable shared_weight) : nn::Module("PReLU"), weight(std::move(shared_weight)), alias_(true) {}

// relu(x) - w * relu(-x): the same values and gradients as PyTorch's prelu, from existing ops. The
// f32 weight is cast to 16-bit activations under autocast (binary ops do not mix dtypes).
Variable PReLU::forward(const Variable& x) {
    const Variable w = weight.dtype() == x.dtype() ? weight : F::to(weight, x.dtype());
    return F::sub(F::relu(x), F::mul(w, F::relu(F::neg(x))));
}

std::string PReLU::extra_repr() const { return alias_ ? "num_parameters=1, shared" : "num_parameters=1"; }

namespace {

// One activation per bottleneck, as davidtvs: ReLU (no state), or one PReLU weight owned by the
// first position that asks and aliased by the others.
class ActivationFactory {
public:
    explicit ActivationFactory(bool relu) : relu_(relu) {}
    std::shared_ptr<nn::Module> next() {
        if (relu_) return std::make_shared<nn::ReLU>();
        if (!owner_) return owner_ = std::make_shared<PReLU>();
        return std::make_shared<PReLU>(owner_->weight);
    }

private:
    bool relu_;
    std::shared_ptr<PReLU> owner_;
};

// nn.Conv2d with a rectangular kernel (the 5x1 / 1x5 pair of an asymmetric bottleneck), no bias;
// key "weight" (out, in, kh, kw) as PyTorch's.
class RectConv2d : public nn::Module {
public:
    RectConv2d(int64_t in, int64_t out, int64_t kh, int64_t kw, int64_t pad_h, int64_t pad_w, int64_t dilation)
        : nn::Module("Conv2d"), kh_(kh), kw_(kw) {
        weight = register_parameter("weight", empty({out, in, kh, kw}));
        nn::init::kaiming_uniform_(weight, std::sqrt(5.0));  // PyTorch's default conv init
        opt_.pad_h = pad_h;
        opt_.pad_w = pad_w;
        opt_.dil_h = opt_.dil_w = dilation;
    }
    Variable forward(const Variable& x) override { return F::conv2d(x, weight, {}, opt_); }
    std::string extra_repr() const override {
        return std::to_string(weight.size(1)) + ", " + std::to_string(weight.size(0)) + ", kernel_size=(" +
               std::to_string(kh_) + ", " + std::to_string(kw_) + "), bias=False";
    }
    Variable weight;

private:
    int64_t kh_, kw_;
    ops::Conv2dOptions opt_;
};

std::shared_ptr<nn::Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t padding = 0,
                                 int64_t dilation = 1) {
    return std::make_shared<nn::Conv2d>(
        in, out, k, nn::Conv2dConfig{.stride = stride, .padding = padding, .dilation = dilation, .bias = false});
}

std::shared_ptr<nn::BatchNorm2d> bn(int64_t c) { return std::make_shared<nn::BatchNorm2d>(c); }

// Children "0", "1", ... in list order (a braced list is evaluated left to right, so the first
// activation of a block, the PReLU owner, is created where PyTorch first lists it).
std::shared_ptr<nn::Sequential> seq(std::vector<std::shared_ptr<nn::Module>> layers) {
    return std::make_shared<nn::Sequential>(std::move(layers));
}

}  // namespace

// ---- blocks ----

class ENetInitialBlock : public nn::Module {
public:
    ENetInitialBlock(int64_t in, int64_t out, bool relu) : nn::Module("InitialBlock") {
        ActivationFactory act(relu);
        main_branch = register_module("main_branch", conv(in, out - in, 3, 2, 1));
        ext_branch = register_module("ext_branch", std::make_shared<nn::MaxPool2d>(3, nn::MaxPool2dConfig{2, 1}));
        batch_norm = register_module("batch_norm", bn(out));
        out_prelu = register_module("out_prelu", act.next());
    }
    Variable forward(const Variable& x) override {
        return (*out_prelu)((*batch_norm)(F::concat({(*main_branch)(x), (*ext_branch)(x)}, 1)));
    }
    std::shared_ptr<nn::Conv2d> main_branch;
    std::shared_ptr<nn::MaxPool2d> ext_branch;
    std::shared_ptr<nn::BatchNorm2d> batch_norm;
    std::shared_ptr<nn::Module> out_prelu;
};

struct RegularSpec {
    int64_t kernel_size = 3, padding = 1, dilation = 1;
    bool asymmetric = false;
};

class ENetRegularBottleneck : public nn::Module {
public:
    ENetRegularBottleneck(int64_t channels, RegularSpec s, double dropout, bool relu)
        : nn::Module("RegularBottleneck") {
        const int64_t mid = channels / 4;
        ActivationFactory act(relu);
        ext_conv1 = register_module("ext_conv1", seq({conv(channels, mid, 1), bn(mid), act.next()}));
        if (s.asymmetric)
            ext_conv2 = register_module(
                "ext_conv2",
                seq({std::make_shared<RectConv2d>(mid, mid, s.kernel_size, 1, s.padding, 0, s.dilation), bn(mid),
                     act.next(), std::make_shared<RectConv2d>(mid, mid, 1, s.kernel_size, 0, s.padding, s.dilation),
                     bn(mid), act.next()}));
        else
            ext_conv2 = register_module(
                "ext_conv2", seq({conv(mid, mid, s.kernel_size, 1, s.padding, s.dilation), bn(mid), act.next()}));
        ext_conv3 = register_module("ext_conv3", seq({conv(mid, channels, 1), bn(channels), act.next()}));
        ext_regul = register_module("ext_regul", std::make_shared<nn::Dropout2d>(dropout));
        out_prelu = register_module("out_prelu", act.next());
    }
    Variable forward(const Variable& x) override {
        const Variable ext = (*ext_regul)((*ext_conv3)((*ext_conv2)((*ext_conv1)(x))));
        return (*out_prelu)(F::add(x, ext));
    }
    std::shared_ptr<nn::Sequential> ext_conv1, ext_conv2, ext_conv3;
    std::shared_ptr<nn::Dropout2d> ext_regul;
    std::shared_ptr<nn::Module> out_prelu;
};

class ENetDownsamplingBottleneck : public nn::Module {
public:
    ENetDownsamplingBottleneck(int64_t in, int64_t out, double dropout, bool relu)
        : nn::Module("DownsamplingBottleneck") {
        const int64_t mid = in / 4;
        ActivationFactory act(relu);
        main_max1 = register_module("main_max1", std::make_shared<nn::MaxPool2d>(2));
        ext_conv1 = register_module("ext_conv1", seq({conv(in, mid, 2, 2), bn(mid), act.next()}));
        ext_conv2 = register_module("ext_conv2", seq({conv(mid, mid, 3, 1, 1), bn(mid), act.next()}));
        ext_conv3 = register_module("ext_conv3", seq({conv(mid, out, 1), bn(out), act.next()}));
        ext_regul = register_module("ext_regul", std::make_shared<nn::Dropout2d>(dropout));
        out_prelu = register_module("out_prelu", act.next());
    }
    Variable forward(const Variable& x) override { return forward_with_indices(x).first; }
    // {output, max-pool indices of the main branch} (the decoder's unpooling needs the indices).
    std::pair<Variable, Tensor> forward_with_indices(const Variable& x) {
        auto [main, indices] = main_max1->forward_with_indices(x);
        const Variable ext = (*ext_regul)((*ext_conv3)((*ext_conv2)((*ext_conv1)(x))));
        // The main branch has fewer channels: zero channels make up the difference (davidtvs pads
        // with torch.zeros). 2x2/2 pooling and the 2x2/2 conv both floor, so the sizes agree.
        const Shape z{main.size(0), ext.size(1) - main.size(1), main.size(2), main.size(3)};
        main = F::concat({main, Variable(zeros(z, TensorOptions(main.dtype(), main.data().device())))}, 1);
        return {(*out_prelu)(F::add(main, ext)), indices};
    }
    std::shared_ptr<nn::MaxPool2d> main_max1;
    std::shared_ptr<nn::Sequential> ext_conv1, ext_conv2, ext_conv3;
    std::shared_ptr<nn::Dropout2d> ext_regul;
    std::shared_ptr<nn::Module> out_prelu;
};

class ENetUpsamplingBottleneck : public nn::Module {
public:
    ENetUpsamplingBottleneck(int64_t in, int64_t out, double dropout, bool relu) : nn::Module("UpsamplingBottleneck") {
        const int64_t mid = in / 4;
        ActivationFactory act(relu);
        main_conv1 = register_module("main_conv1", seq({conv(in, out, 1), bn(out)}));
        main_unpool1 = register_module("main_unpool1", std::make_shared<nn::MaxUnpool2d>());
        ext_conv1 = register_module("ext_conv1", seq({conv(in, mid, 1), bn(mid), act.next()}));
        ext_tconv1 = register_module(
            "ext_tconv1",
            std::make_shared<nn::ConvTranspose2d>(mid, mid, 2, nn::ConvTranspose2dConfig{.stride = 2, .bias = false}));
        ext_tconv1_bnorm = register_module("ext_tconv1_bnorm", bn(mid));
        ext_tconv1_activation = register_module("ext_tconv1_activation", act.next());
        ext_conv2 = register_module("ext_conv2", seq({conv(mid, out, 1), bn(out), act.next()}));
        ext_regul = register_module("ext_regul", std::make_shared<nn::Dropout2d>(dropout));
        out_prelu = register_module("out_prelu", act.next());
    }
    // x at half the size of the (out_h, out_w) map whose pooling produced `indices`.
    Variable forward(const Variable& x, const Tensor& indices, int64_t out_h, int64_t out_w) {
        const Variable main = main_unpool1->forward((*main_conv1)(x), indices, out_h, out_w);
        Variable ext = (*ext_tconv1)((*ext_conv1)(x));
        // 2h -> out_h (out_h - 2h is 0 or 1): the zero row output_padding would add (see enet.h).
        ext = nn::functional::pad2d(ext, 0, out_w - ext.size(3), 0, out_h - ext.size(2));
        ext = (*ext_regul)((*ext_conv2)((*ext_tconv1_activation)((*ext_tconv1_bnorm)(ext))));
        return (*out_prelu)(F::add(main, ext));
    }
    using nn::Module::forward;  // the single-input one, which throws
    std::shared_ptr<nn::Sequential> main_conv1, ext_conv1, ext_conv2;
    std::shared_ptr<nn::MaxUnpool2d> main_unpool1;
    std::shared_ptr<nn::ConvTranspose2d> ext_tconv1;
    std::shared_ptr<nn::BatchNorm2d> ext_tconv1_bnorm;
    std::shared_ptr<nn::Dropout2d> ext_regul;
    std::shared_ptr<nn::Module> ext_tconv1_activation, out_prelu;
};

// ---- the network ----

ENet::ENet(const ENetConfig& c) : SegModel("ENet", c.num_classes), cfg(c) {
    SEGCORE_CHECK(c.in_channels >= 1 && c.in_channels < 16, "ENet: in_channels must be in [1, 15] (the initial block ",
                  "concatenates the pooled input to 16 - in_channels conv maps), got ", c.in_channels);
    SEGCORE_CHECK(c.num_classes >= 1, "ENet: num_classes must be >= 1, got ", c.num_classes);
    const bool enc = c.encoder_relu, dec = c.decoder_relu;
    const auto regular = [&](const std::string& name, int64_t ch, RegularSpec s, double p, bool relu) {
        return register_module(name, std::make_shared<ENetRegularBottleneck>(ch, s, p, relu));
    };
    const RegularSpec plain{};
    const auto dilated = [](int64_t d) { return RegularSpec{3, d, d, false}; };
    const RegularSpec asym{5, 2, 1, true};

    initial_ = register_module("initial_block", std::make_shared<ENetInitialBlock>(c.in_channels, 16, enc));
    down1_ = register_module("downsample1_0", std::make_shared<ENetDownsamplingBottleneck>(16, 64, 0.01, enc));
    for (int i = 1; i <= 4; ++i) stage1_.push_back(regular("regular1_" + std::to_string(i), 64, plain, 0.01, enc));
    down2_ = register_module("downsample2_0", std::make_shared<ENetDownsamplingBottleneck>(64, 128, 0.1, enc));
    // Stages 2 and 3 share a pattern; stage 3 has no downsampling and starts at index 0.
    for (int stage = 2; stage <= 3; ++stage) {
        const std::string s = std::to_string(stage) + "_";
        const int o = stage == 2 ? 1 : 0;
        stage23_.push_back(regular("regular" + s + std::to_string(o), 128, plain, 0.1, enc));
        stage23_.push_back(regular("dilated" + s + std::to_string(o + 1), 128, dilated(2), 0.1, enc));
        stage23_.push_back(regular("asymmetric" + s + std::to_string(o + 2), 128, asym, 0.1, enc));
        stage23_.push_back(regular("dilated" + s + std::to_string(o + 3), 128, dilated(4), 0.1, enc));
        stage23_.push_back(regular("regular" + s + std::to_string(o + 4), 128, plain, 0.1, enc));
        stage23_.push_back(regular("dilated" + s + std::to_string(o + 5), 128, dilated(8), 0.1, enc));
        stage23_.push_back(regular("asymmetric" + s + std::to_string(o + 6), 128, asym, 0.1, enc));
        stage23_.push_back(regular("dilated" + s + std::to_string(o + 7), 128, dilated(16), 0.1, enc));
    }
    up4_ = register_module("upsample4_0", std::make_shared<ENetUpsamplingBottleneck>(128, 64, 0.1, dec));
    for (int i = 1; i <= 2; ++i) stage4_.push_back(regular("regular4_" + std::to_string(i), 64, plain, 0.1, dec));
    up5_ = register_module("upsample5_0", std::make_shared<ENetUpsamplingBottleneck>(64, 16, 0.1, dec));
    stage5_.push_back(regular("regular5_1", 16, plain, 0.1, dec));
    // padding 0 + crop instead of padding 1 + output_size (enet.h): same weights, same values.
    transposed_conv_ = register_module(
        "transposed_conv", std::make_shared<nn::ConvTranspose2d>(
                               16, c.num_classes, 3, nn::ConvTranspose2dConfig{.stride = 2, .bias = false}));
}

SegOutput ENet::forward_seg(const Variable& x) {
    SEGCORE_CHECK(x.dim() == 4 && x.size(1) == cfg.in_channels, "ENet: expected (N, ", cfg.in_channels,
                  ", H, W) input, got ", shape_str(x.shape()));
    SEGCORE_CHECK(x.size(2) >= 7 && x.size(3) >= 7, "ENet: the input must be at least 7 x 7 (it is halved three ",
                  "times), got ", shape_str(x.shape()));
    const int64_t h = x.size(2), w = x.size(3);
    Variable y = (*initial_)(x);
    const int64_t h1 = y.size(2), w1 = y.size(3);
    auto [y1, idx1] = down1_->forward_with_indices(y);
    y = y1;
    for (auto& b : stage1_) y = (*b)(y);
    const int64_t h2 = y.size(2), w2 = y.size(3);
    auto [y2, idx2] = down2_->forward_with_indices(y);
    y = y2;
    for (auto& b : stage23_) y = (*b)(y);
    y = up4_->forward(y, idx2, h2, w2);
    for (auto& b : stage4_) y = (*b)(y);
    y = up5_->forward(y, idx1, h1, w1);
    for (auto& b : stage5_) y = (*b)(y);
    // Full transposed-conv output is 2*h1 + 1 rows; PyTorch's padding=1, output_size=h keeps [1, 1 + h).
    y = (*transposed_conv_)(y);
    y = F::contiguous(F::narrow(F::narrow(y, 2, 1, h), 3, 1, w));
    return {y, {}, {}};
}

std::string ENet::extra_repr() const {
    return "in_channels=" + std::to_string(cfg.in_channels) + ", num_classes=" + std::to_string(cfg.num_classes) +
           ", encoder=" + (cfg.encoder_relu ? "relu" : "prelu") + ", decoder=" + (cfg.decoder_relu ? "relu" : "prelu");
}

std::shared_ptr<SegModel> build_enet(JsonReader& r, int64_t num_classes, int64_t in_channels) {
    ENetConfig c;
    c.num_classes = num_classes;
    SEGCORE_CHECK(in_channels < 16, r.path_of("in_channels"), ": ENet takes at most 15 input channels (its initial ",
                  "block concatenates the pooled input to 16 - in_channels conv maps), got ", in_channels);
    c.in_channels = in_channels;
    c.encoder_relu = r.boolean("encoder_relu", c.encoder_relu);
    c.decoder_relu = r.boolean("decoder_relu", c.decoder_relu);
    r.finish();
    return std::make_shared<ENet>(c);
}

}  // namespace segcore::seg
