#!/usr/bin/python3
"""Golden fixtures for ENet, FastSegNet and the Siamese U-Net (seg/models/enet.h, fastsegnet.h,
siamese_unet.h): PyTorch twins filled with the formula weights of tests/golden/formula_weights.py,
run in eval mode on odd-sized inputs.

Run by hand from the repository root with Debian's python3-torch / python3-torchvision:

    /usr/bin/python3 tests/golden/make_realtime_golden.py

tests/golden/models_realtime.safetensors (tests/seg/test_enet.cpp, test_fastsegnet.cpp,
test_siamese_unet.cpp):
  enet.<acts>      davidtvs/PyTorch-ENet's ENet (its code, with in_channels generalised: the initial
                   conv has 16 - in_channels outputs), 3 -> 4 classes, on 2x3x29x34 (odd height: the
                   final transposed conv needs no output padding; even width: it needs one), for
                   the default PReLU encoder / ReLU decoder and for the reverse. Also the parameter
                   count of the default ENet for 12 classes.
  fastsegnet       FastSegNet (width_mult 0.5, context 32, head 16, 5 classes) on 2x3x37x45, and
                   the parameter count at width_mult 1 with 19 classes.
  siamese_unet     the Siamese U-Net (depth 2, base width 4, 3 classes) on two views 2x3x21x27:
                   both branches' logits and bottleneck features, both consistency terms, and the
                   parameter count of the default (depth 4, width 64, 21 classes).

ENet shares one activation module per bottleneck (davidtvs builds one PReLU and uses it at every
position), so PyTorch's state_dict lists a PReLU weight under several names. The formula weights
number the entries of the state dict with those repeats left out (first name kept), which is
segcore's state dict; every alias then receives its owner's value.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.mobilenetv2 import InvertedResidual, _make_divisible
from torchvision.ops.misc import Conv2dNormActivation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formula_weights import formula_tensor, keys_and_shapes, load_formula_weights  # noqa: E402
from make_foundation_golden import Fixture  # noqa: E402
from make_models_golden import UNet  # noqa: E402

GEN = "tests/golden/make_realtime_golden.py"


def nparams(m):
    return sum(p.numel() for p in m.parameters())  # parameters() skips shared repeats


# ---------------------------------------------------------------- ENet (davidtvs/PyTorch-ENet)

def act(relu):
    return nn.ReLU() if relu else nn.PReLU()


class InitialBlock(nn.Module):
    def __init__(self, in_channels, out_channels, relu=True):
        super().__init__()
        activation = act(relu)
        self.main_branch = nn.Conv2d(in_channels, out_channels - in_channels, 3, stride=2, padding=1, bias=False)
        self.ext_branch = nn.MaxPool2d(3, stride=2, padding=1)
        self.batch_norm = nn.BatchNorm2d(out_channels)
        self.out_prelu = activation

    def forward(self, x):
        return self.out_prelu(self.batch_norm(torch.cat((self.main_branch(x), self.ext_branch(x)), 1)))


class RegularBottleneck(nn.Module):
    def __init__(self, channels, kernel_size=3, padding=0, dilation=1, asymmetric=False, dropout_prob=0, relu=True):
        super().__init__()
        internal = channels // 4
        activation = act(relu)
        self.ext_conv1 = nn.Sequential(nn.Conv2d(channels, internal, 1, bias=False), nn.BatchNorm2d(internal),
                                       activation)
        if asymmetric:
            self.ext_conv2 = nn.Sequential(
                nn.Conv2d(internal, internal, (kernel_size, 1), padding=(padding, 0), dilation=dilation, bias=False),
                nn.BatchNorm2d(internal), activation,
                nn.Conv2d(internal, internal, (1, kernel_size), padding=(0, padding), dilation=dilation, bias=False),
                nn.BatchNorm2d(internal), activation)
        else:
            self.ext_conv2 = nn.Sequential(
                nn.Conv2d(internal, internal, kernel_size, padding=padding, dilation=dilation, bias=False),
                nn.BatchNorm2d(internal), activation)
        self.ext_conv3 = nn.Sequential(nn.Conv2d(internal, channels, 1, bias=False), nn.BatchNorm2d(channels),
                                       activation)
        self.ext_regul = nn.Dropout2d(p=dropout_prob)
        self.out_prelu = activation

    def forward(self, x):
        return self.out_prelu(x + self.ext_regul(self.ext_conv3(self.ext_conv2(self.ext_conv1(x)))))


class DownsamplingBottleneck(nn.Module):
    def __init__(self, in_channels, out_channels, dropout_prob=0, relu=True):
        super().__init__()
        internal = in_channels // 4
        activation = act(relu)
        self.main_max1 = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.ext_conv1 = nn.Sequential(nn.Conv2d(in_channels, internal, 2, stride=2, bias=False),
                                       nn.BatchNorm2d(internal), activation)
        self.ext_conv2 = nn.Sequential(nn.Conv2d(internal, internal, 3, padding=1, bias=False),
                                       nn.BatchNorm2d(internal), activation)
        self.ext_conv3 = nn.Sequential(nn.Conv2d(internal, out_channels, 1, bias=False),
                                       nn.BatchNorm2d(out_channels), activation)
        self.ext_regul = nn.Dropout2d(p=dropout_prob)
        self.out_prelu = activation

    def forward(self, x):
        main, max_indices = self.main_max1(x)
        ext = self.ext_regul(self.ext_conv3(self.ext_conv2(self.ext_conv1(x))))
        n, ch_ext, h, w = ext.size()
        main = torch.cat((main, torch.zeros(n, ch_ext - main.size(1), h, w)), 1)
        return self.out_prelu(main + ext), max_indices


class UpsamplingBottleneck(nn.Module):
    def __init__(self, in_channels, out_channels, dropout_prob=0, relu=True):
        super().__init__()
        internal = in_channels // 4
        activation = act(relu)
        self.main_conv1 = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                        nn.BatchNorm2d(out_channels))
        self.main_unpool1 = nn.MaxUnpool2d(kernel_size=2)
        self.ext_conv1 = nn.Sequential(nn.Conv2d(in_channels, internal, 1, bias=False), nn.BatchNorm2d(internal),
                                       activation)
        self.ext_tconv1 = nn.ConvTranspose2d(internal, internal, kernel_size=2, stride=2, bias=False)
        self.ext_tconv1_bnorm = nn.BatchNorm2d(internal)
        self.ext_tconv1_activation = activation
        self.ext_conv2 = nn.Sequential(nn.Conv2d(internal, out_channels, 1, bias=False),
                                       nn.BatchNorm2d(out_channels), activation)
        self.ext_regul = nn.Dropout2d(p=dropout_prob)
        self.out_prelu = activation

    def forward(self, x, max_indices, output_size):
        main = self.main_unpool1(self.main_conv1(x), max_indices, output_size=output_size)
        ext = self.ext_tconv1(self.ext_conv1(x), output_size=output_size)
        ext = self.ext_tconv1_activation(self.ext_tconv1_bnorm(ext))
        ext = self.ext_regul(self.ext_conv2(ext))
        return self.out_prelu(main + ext)


class ENet(nn.Module):
    def __init__(self, num_classes, in_channels=3, encoder_relu=False, decoder_relu=True):
        super().__init__()
        e, d = encoder_relu, decoder_relu
        self.initial_block = InitialBlock(in_channels, 16, relu=e)
        self.downsample1_0 = DownsamplingBottleneck(16, 64, dropout_prob=0.01, relu=e)
        for i in range(1, 5):
            setattr(self, f"regular1_{i}", RegularBottleneck(64, padding=1, dropout_prob=0.01, relu=e))
        self.downsample2_0 = DownsamplingBottleneck(64, 128, dropout_prob=0.1, relu=e)
        self.stage23 = []
        for stage, o in ((2, 1), (3, 0)):
            for name, kw in ((f"regular{stage}_{o}", dict(padding=1)),
                             (f"dilated{stage}_{o + 1}", dict(dilation=2, padding=2)),
                             (f"asymmetric{stage}_{o + 2}", dict(kernel_size=5, padding=2, asymmetric=True)),
                             (f"dilated{stage}_{o + 3}", dict(dilation=4, padding=4)),
                             (f"regular{stage}_{o + 4}", dict(padding=1)),
                             (f"dilated{stage}_{o + 5}", dict(dilation=8, padding=8)),
                             (f"asymmetric{stage}_{o + 6}", dict(kernel_size=5, padding=2, asymmetric=True)),
                             (f"dilated{stage}_{o + 7}", dict(dilation=16, padding=16))):
                setattr(self, name, RegularBottleneck(128, dropout_prob=0.1, relu=e, **kw))
                self.stage23.append(name)
        self.upsample4_0 = UpsamplingBottleneck(128, 64, dropout_prob=0.1, relu=d)
        self.regular4_1 = RegularBottleneck(64, padding=1, dropout_prob=0.1, relu=d)
        self.regular4_2 = RegularBottleneck(64, padding=1, dropout_prob=0.1, relu=d)
        self.upsample5_0 = UpsamplingBottleneck(64, 16, dropout_prob=0.1, relu=d)
        self.regular5_1 = RegularBottleneck(16, padding=1, dropout_prob=0.1, relu=d)
        self.transposed_conv = nn.ConvTranspose2d(16, num_classes, kernel_size=3, stride=2, padding=1, bias=False)

    def forward(self, x):
        input_size = x.size()
        x = self.initial_block(x)
        stage1_input_size = x.size()
        x, max_indices1_0 = self.downsample1_0(x)
        for i in range(1, 5):
            x = getattr(self, f"regular1_{i}")(x)
        stage2_input_size = x.size()
        x, max_indices2_0 = self.downsample2_0(x)
        for name in self.stage23:
            x = getattr(self, name)(x)
        x = self.upsample4_0(x, max_indices2_0, output_size=stage2_input_size)
        x = self.regular4_2(self.regular4_1(x))
        x = self.upsample5_0(x, max_indices1_0, output_size=stage1_input_size)
        x = self.regular5_1(x)
        return self.transposed_conv(x, output_size=input_size)


def unique_state(model):
    """state_dict entries with repeated (shared) tensors left out, first name kept, plus a map from
    every name to the name that owns its tensor."""
    full = model.state_dict(keep_vars=True)
    owner_of_id, owner, unique = {}, {}, []
    for name, t in full.items():
        if id(t) not in owner_of_id:
            owner_of_id[id(t)] = name
            unique.append((name, t))
        owner[name] = owner_of_id[id(t)]
    return unique, owner


def load_formula_weights_shared(model):
    unique, owner = unique_state(model)
    values = {name: formula_tensor(name, t, k) for k, (name, t) in enumerate(unique)}
    model.load_state_dict({name: values[owner[name]] for name in owner})
    return model


def make_enet(fx):
    g = torch.Generator().manual_seed(11)
    x = fx.add("enet/x", torch.randn((2, 3, 29, 34), generator=g))
    default_params = nparams(ENet(12))
    for tag, enc, dec in (("prelu_relu", False, True), ("relu_prelu", True, False)):
        m = load_formula_weights_shared(ENet(4, 3, encoder_relu=enc, decoder_relu=dec)).eval()
        with torch.no_grad():
            y = m(fx.tensors[x])
        unique, _ = unique_state(m)
        params = {"in_channels": 3, "num_classes": 4, "encoder_relu": enc, "decoder_relu": dec,
                  "keys": [[k, list(t.shape)] for k, t in unique], "params": nparams(m),
                  "default_params": default_params}
        fx.case("enet." + tag, torch.float32, params, {"x": x}, {"y": fx.out(y)})
    print(f"ENet(12 classes): {default_params} parameters")


# ---------------------------------------------------------------- FastSegNet (seg/models/fastsegnet.h)

class BiSeNetConvBNReLU(nn.Module):
    def __init__(self, cin, cout, ks):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, ks, padding=ks // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class AttentionRefinementModule(nn.Module):
    """CoinCheung/BiSeNet's ARM (segcore nn/layers/blocks.h)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = BiSeNetConvBNReLU(cin, cout, 3)
        self.conv_atten = nn.Conv2d(cout, cout, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(cout)

    def forward(self, x):
        feat = self.conv(x)
        return feat * torch.sigmoid(self.bn_atten(self.conv_atten(F.adaptive_avg_pool2d(feat, 1))))


class FeatureFusionModule(nn.Module):
    """CoinCheung/BiSeNet's FFM (segcore nn/layers/blocks.h)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.convblk = BiSeNetConvBNReLU(cin, cout, 1)
        self.conv1 = nn.Conv2d(cout, cout // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(cout // 4, cout, 1, bias=False)

    def forward(self, fsp, fcp):
        feat = self.convblk(torch.cat([fsp, fcp], 1))
        att = torch.sigmoid(self.conv2(F.relu(self.conv1(F.adaptive_avg_pool2d(feat, 1)))))
        return feat + feat * att


class DepthwiseSeparableConv2d(nn.Module):
    """segcore nn/layers/blocks.h: depthwise 3x3 + BN + ReLU, pointwise 1x1 + BN + ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.depthwise = Conv2dNormActivation(cin, cin, 3, groups=cin)
        self.pointwise = Conv2dNormActivation(cin, cout, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def seg_head(cin, hidden, classes):
    return nn.Sequential(DepthwiseSeparableConv2d(cin, hidden), nn.Conv2d(hidden, classes, 1))


class FastSegNet(nn.Module):
    STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
              (6, 320, 1, 1)]

    def __init__(self, num_classes, in_channels=3, width_mult=1.0, context_channels=128, head_channels=64):
        super().__init__()
        ch = _make_divisible(32 * width_mult, 8)
        layers = [Conv2dNormActivation(in_channels, ch, 3, stride=2, activation_layer=nn.ReLU6)]
        for t, c, n, s in self.STAGES:
            out = _make_divisible(c * width_mult, 8)
            for i in range(n):
                layers.append(InvertedResidual(ch, out, s if i == 0 else 1, t))
                ch = out
        self.features = nn.Sequential(*layers)
        c8, c16, c32, C = layers[6].out_channels, layers[13].out_channels, ch, context_channels
        self.global_context = Conv2dNormActivation(c32, C, 1)
        self.arm32 = AttentionRefinementModule(c32, C)
        self.refine32 = DepthwiseSeparableConv2d(C, C)
        self.arm16 = AttentionRefinementModule(c16, C)
        self.refine16 = DepthwiseSeparableConv2d(C, C)
        self.ffm = FeatureFusionModule(c8 + C, C)
        self.head = seg_head(C, head_channels, num_classes)
        self.aux16 = seg_head(C, head_channels, num_classes)
        self.aux32 = seg_head(C, head_channels, num_classes)

    def forward(self, x):
        size = x.shape[2:]
        y = x
        for i, layer in enumerate(self.features):
            y = layer(y)
            if i == 6:
                f8 = y
            if i == 13:
                f16 = y
        f32 = y
        up = lambda t, ref: F.interpolate(t, size=ref.shape[2:], mode="bilinear", align_corners=False)  # noqa: E731
        gc = self.global_context(F.adaptive_avg_pool2d(f32, 1))
        ctx32 = self.refine32(up(self.arm32(f32) + gc, f16))
        ctx16 = self.refine16(up(self.arm16(f16) + ctx32, f8))
        out = F.interpolate(self.head(self.ffm(f8, ctx16)), size=size, mode="bilinear", align_corners=False)
        return out


def make_fastsegnet(fx):
    g = torch.Generator().manual_seed(12)
    x = fx.add("fastsegnet/x", torch.randn((2, 3, 37, 45), generator=g))
    args = {"in_channels": 3, "num_classes": 5, "width_mult": 0.5, "context_channels": 32, "head_channels": 16}
    m = load_formula_weights(FastSegNet(**args)).eval()
    with torch.no_grad():
        y = m(fx.tensors[x])
    default_params = nparams(FastSegNet(19))
    assert default_params < 5_000_000
    params = {**args, "keys": keys_and_shapes(m), "params": nparams(m), "default_params": default_params}
    fx.case("fastsegnet", torch.float32, params, {"x": x}, {"y": fx.out(y)})
    print(f"FastSegNet(19 classes, width 1): {default_params} parameters")


# ---------------------------------------------------------------- Siamese U-Net (seg/models/siamese_unet.h)

class SiameseUNet(UNet):
    """U-Net's modules; each branch returns its logits and its bottleneck features."""

    def forward_seg(self, x):
        skips = [self.inc(x)]
        for i in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{i}")(F.max_pool2d(skips[-1], 2)))
        bottleneck = y = skips[-1]
        for i in range(self.depth, 0, -1):
            skip = skips[i - 1]
            u = getattr(self, f"up{i}")(y)
            dh, dw = skip.shape[2] - u.shape[2], skip.shape[3] - u.shape[3]
            u = F.pad(u, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
            y = getattr(self, f"up{i}_conv")(torch.cat([skip, u], 1))
        return self.outc(y), bottleneck


def consistency(fa, fb, kind, eps=1e-6):
    if kind == "mse":
        return ((fa - fb) ** 2).mean()
    unit = lambda f: f / torch.sqrt((f * f).sum(1, keepdim=True) + eps * eps)  # noqa: E731
    return 0.5 * ((unit(fa) - unit(fb)) ** 2).sum(1).mean()


def make_siamese(fx):
    g = torch.Generator().manual_seed(13)
    a = fx.add("siamese/a", torch.randn((2, 3, 21, 27), generator=g))
    b = fx.add("siamese/b", torch.randn((2, 3, 21, 27), generator=g))
    m = load_formula_weights(SiameseUNet(3, 3, depth=2, base_width=4)).eval()
    with torch.no_grad():
        ya, fa = m.forward_seg(fx.tensors[a])
        yb, fb = m.forward_seg(fx.tensors[b])
        cos = consistency(fa, fb, "cosine")
        # the documented identity: 1 - cos for vectors far from zero
        ref = (1 - F.cosine_similarity(fa, fb, dim=1, eps=1e-12)).mean()
        assert abs(cos - ref) < 1e-4, (cos, ref)
        outs = {"ya": fx.out(ya), "yb": fx.out(yb), "fa": fx.out(fa), "fb": fx.out(fb),
                "mse": fx.out(consistency(fa, fb, "mse").reshape(1)), "cosine": fx.out(cos.reshape(1))}
    params = {"in_channels": 3, "num_classes": 3, "depth": 2, "base_width": 4, "bilinear": False,
              "keys": keys_and_shapes(m), "default_params": nparams(SiameseUNet(3, 21))}
    fx.case("siamese_unet", torch.float32, params, {"a": a, "b": b}, outs)


def main():
    torch.manual_seed(0)
    fx = Fixture("realtime", prefix="models", generator=GEN)
    make_enet(fx)
    make_fastsegnet(fx)
    make_siamese(fx)
    assert fx.write() < 500_000


if __name__ == "__main__":
    main()
