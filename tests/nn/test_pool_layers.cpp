// Pooling, unpooling and upsampling modules (nn/layers/pool.h, upsample.h) and ModuleList:
// PyTorch's printed form and defaults, output sizes at odd input sizes, forward = the op, the
// SegNet pool/unpool round trip, options rejected where the layer is built, f64 gradcheck.
// Expected strings and sizes come from PyTorch 1.13 (the Python line is beside each).
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "kernels/ops.h"
#include "nn/layers.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::nn;
namespace F = segcore::autograd;
using kernels::InterpMode;

namespace {

const test::Tolerance kExact{0, 0};

void require_gradcheck(Module& m, const Shape& x_shape) {
    const auto r = F::gradcheck([&m](const std::vector<Variable>& v) { return m(v[0]); },
                                {test::random_tensor(x_shape, DType::F64, -1, 1, 17)});
    INFO(m.str() << ": " << r.message);
    REQUIRE(r.ok);
}

}  // namespace

TEST_CASE("MaxPool2d: PyTorch's defaults, repr and output sizes", "[nn][layers][pool]") {
    // print(nn.MaxPool2d(3, 2, 1)); print(nn.MaxPool2d(2)); print(nn.MaxPool2d(3, 2, 1, 2, ceil_mode=True))
    REQUIRE(MaxPool2d(3, {.stride = 2, .padding = 1}).str() ==
            "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)");
    REQUIRE(MaxPool2d(2).str() == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
    REQUIRE(MaxPool2d(3, {.stride = 2, .padding = 1, .dilation = 2, .ceil_mode = true}).str() ==
            "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)");
    // print(nn.MaxPool2d((3, 2), 1, (1, 0)))
    REQUIRE(MaxPool2d(ops::MaxPool2dOptions{3, 2, 1, 1, 1, 0}).str() ==
            "MaxPool2d(kernel_size=(3, 2), stride=1, padding=(1, 0), dilation=1, ceil_mode=False)");

    // [nn.MaxPool2d(*a)(torch.zeros(2, 3, 13, 17)).shape for a in ((3, 2, 1), (2,), (3, 1, 1, 2))],
    // nn.MaxPool2d(2, ceil_mode=True)(torch.zeros(2, 3, 13, 17)).shape
    const Tensor x = test::random_tensor({2, 3, 13, 17}, DType::F32, -1, 1, 1);
    REQUIRE(MaxPool2d(3, {.stride = 2, .padding = 1})(Variable(x)).shape() == Shape{2, 3, 7, 9});
    REQUIRE(MaxPool2d(2)(Variable(x)).shape() == Shape{2, 3, 6, 8});
    REQUIRE(MaxPool2d(2, {.ceil_mode = true})(Variable(x)).shape() == Shape{2, 3, 7, 9});
    REQUIRE(MaxPool2d(3, {.stride = 1, .padding = 1, .dilation = 2})(Variable(x)).shape() == Shape{2, 3, 11, 15});

    const auto o = ops::MaxPool2dOptions::make(3, 2, 1);
    MaxPool2d pool(o);
    REQUIRE_CLOSE(pool(Variable(x)).data(), ops::max_pool2d(x, o).first, kExact);
}

TEST_CASE("MaxPool2d + MaxUnpool2d: SegNet's round trip at an odd size", "[nn][layers][pool][unpool]") {
    MaxPool2d pool(2, {.ceil_mode = true});  // 13 x 17 -> 7 x 9: the last window is partial
    MaxUnpool2d unpool;
    REQUIRE(unpool.str() == "MaxUnpool2d()");
    // Positive values: the zeros the unpooling writes must not win the second pooling below.
    const Tensor x = test::random_tensor({2, 3, 13, 17}, DType::F32, 0.1, 1, 2);
    const auto [values, indices] = pool.forward_with_indices(Variable(x));
    REQUIRE(values.shape() == Shape{2, 3, 7, 9});
    REQUIRE(indices.dtype() == DType::I64);
    REQUIRE_CLOSE(values.data(), pool(Variable(x)).data(), kExact);
    REQUIRE_CLOSE(indices, ops::max_pool2d(x, pool.opt).second, kExact);

    // The unpooled map holds each maximum where it was and zeros elsewhere, so pooling it again
    // finds the same values at the same places.
    const Variable up = unpool.forward(values, indices, 13, 17);
    REQUIRE(up.shape() == Shape{2, 3, 13, 17});
    const auto [again, again_idx] = ops::max_pool2d(up.data(), pool.opt);
    REQUIRE_CLOSE(again, values.data(), kExact);
    REQUIRE_CLOSE(again_idx, indices, kExact);
    REQUIRE_THROWS_WITH(unpool(Variable(x)), Catch::Contains("no single-input forward"));

    // Gradients: through the pooled values to x, and through the unpooling to its input.
    const Tensor x64 = test::random_tensor({1, 2, 5, 7}, DType::F64, -1, 1, 3);
    require_gradcheck(pool, x64.shape());
    const Tensor idx = ops::max_pool2d(x64, pool.opt).second;
    const auto r = F::gradcheck([&](const std::vector<Variable>& v) { return unpool.forward(v[0], idx, 5, 7); },
                                {test::random_tensor(idx.shape(), DType::F64, -1, 1, 4)});
    INFO(r.message);
    REQUIRE(r.ok);
}

TEST_CASE("AvgPool2d and AdaptiveAvgPool2d: padding rules, bins, repr", "[nn][layers][pool]") {
    // print(nn.AvgPool2d(3, 2, 1)); print(nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False))
    REQUIRE(AvgPool2d(3, {.stride = 2, .padding = 1}).str() == "AvgPool2d(kernel_size=3, stride=2, padding=1)");
    REQUIRE(AvgPool2d(2, {.ceil_mode = true, .count_include_pad = false}).str() ==
            "AvgPool2d(kernel_size=2, stride=2, padding=0)");
    // print(nn.AdaptiveAvgPool2d(1)); print(nn.AdaptiveAvgPool2d((2, 3)))
    REQUIRE(AdaptiveAvgPool2d(1).str() == "AdaptiveAvgPool2d(output_size=1)");
    REQUIRE(AdaptiveAvgPool2d(2, 3).str() == "AdaptiveAvgPool2d(output_size=(2, 3))");

    // On ones, count_include_pad decides the border: the corner window of a 3x3, padding 1
    // pool covers 4 real pixels of 9. nn.AvgPool2d(3, 2, 1)(torch.ones(1, 1, 5, 5))[0, 0, 0, 0] == 4/9
    const Variable ones_in(ones({1, 1, 5, 5}));
    const Tensor with_pad = AvgPool2d(3, {.stride = 2, .padding = 1})(ones_in).data();
    const Tensor without = AvgPool2d(3, {.stride = 2, .padding = 1, .count_include_pad = false})(ones_in).data();
    REQUIRE(with_pad.shape() == Shape{1, 1, 3, 3});
    REQUIRE(with_pad.data<float>()[0] == Approx(4.0 / 9.0));
    REQUIRE(with_pad.data<float>()[4] == Approx(1.0));  // the centre window is all real pixels
    REQUIRE_CLOSE(without, ones({1, 1, 3, 3}), (test::Tolerance{1e-7, 0}));

    const Tensor x = test::random_tensor({3, 4, 13, 17}, DType::F32, -1, 1, 5);
    REQUIRE(AvgPool2d(2, {.ceil_mode = true})(Variable(x)).shape() == Shape{3, 4, 7, 9});
    // PSP bins on an odd map: 6 bins over 13 rows overlap, which PyTorch's rule allows.
    for (int64_t bin : {1, 2, 3, 6}) REQUIRE(AdaptiveAvgPool2d(bin)(Variable(x)).shape() == Shape{3, 4, bin, bin});
    REQUIRE_CLOSE(AdaptiveAvgPool2d(1)(Variable(x)).data(), ops::mean(x, {2, 3}, true), (test::Tolerance{1e-6, 1e-5}));
    REQUIRE_CLOSE(AdaptiveAvgPool2d(6, 4)(Variable(x)).data(), ops::adaptive_avg_pool2d(x, 6, 4), kExact);

    AvgPool2d avg(3, {.stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false});
    require_gradcheck(avg, {2, 2, 5, 7});
    AdaptiveAvgPool2d adaptive(3, 2);
    require_gradcheck(adaptive, {2, 2, 5, 7});
}

TEST_CASE("pooling options are rejected where the layer is built", "[nn][layers][pool][errors]") {
    REQUIRE_THROWS_WITH(MaxPool2d(3, {.padding = 2}), Catch::Contains("at most half the kernel size"));
    REQUIRE_THROWS_WITH(MaxPool2d(0), Catch::Contains("kernel size must be >= 1"));
    REQUIRE_THROWS_WITH(MaxPool2d(2, {.stride = 0}), Catch::Contains("stride must be >= 1"));
    REQUIRE_THROWS_WITH(MaxPool2d(3, {.dilation = 0}), Catch::Contains("dilation must be >= 1"));
    REQUIRE_THROWS_WITH(AvgPool2d(2, {.padding = 2}), Catch::Contains("at most half the kernel size"));
    REQUIRE_THROWS_WITH(AdaptiveAvgPool2d(0), Catch::Contains("output size must be >= 1"));
    // Too small an input is still a forward-time error, with the input named.
    REQUIRE_THROWS_WITH(MaxPool2d(3)(Variable(zeros({1, 1, 2, 2}))),
                        Catch::Contains("smaller than the dilated kernel"));
}

TEST_CASE("Upsample: sizes, PyTorch's repr, values", "[nn][layers][upsample]") {
    // print(nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False)); print(nn.Upsample(size=(5, 7)))
    // print(nn.Upsample(scale_factor=(2, 3)))
    // print(nn.Upsample(scale_factor=2.5, mode='bilinear', align_corners=True))
    REQUIRE(Upsample(ops::InterpolateOptions::scale(2, 2, InterpMode::Bilinear)).str() ==
            "Upsample(scale_factor=2.0, mode=bilinear)");
    REQUIRE(Upsample(ops::InterpolateOptions::size(5, 7, InterpMode::Nearest)).str() ==
            "Upsample(size=(5, 7), mode=nearest)");
    REQUIRE(Upsample(ops::InterpolateOptions::scale(2, 3, InterpMode::Nearest)).str() ==
            "Upsample(scale_factor=(2.0, 3.0), mode=nearest)");
    REQUIRE(Upsample(ops::InterpolateOptions::scale(2.5, 2.5, InterpMode::Bilinear, true)).str() ==
            "Upsample(scale_factor=2.5, mode=bilinear)");

    // [nn.Upsample(scale_factor=s, mode='bilinear')(torch.zeros(2, 3, 13, 17)).shape for s in (2, 1.5, 0.5)]
    const Tensor x = test::random_tensor({2, 3, 13, 17}, DType::F32, -1, 1, 6);
    for (auto [s, h, w] : {std::tuple{2.0, 26, 34}, {1.5, 19, 25}, {0.5, 6, 8}}) {
        const auto o = ops::InterpolateOptions::scale(s, s, InterpMode::Bilinear);
        const Variable y = Upsample(o)(Variable(x));
        REQUIRE(y.shape() == Shape{2, 3, h, w});
        REQUIRE_CLOSE(y.data(), ops::interpolate(x, o), kExact);
    }
    REQUIRE(Upsample(ops::InterpolateOptions::size(64, 9, InterpMode::Nearest))(Variable(x)).shape() ==
            Shape{2, 3, 64, 9});

    // Hand-checkable values. nn.Upsample(scale_factor=2)(torch.tensor([[[[1., 2.], [3., 4.]]]]))
    const Tensor small = from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2});
    const Tensor near = Upsample(ops::InterpolateOptions::scale(2, 2, InterpMode::Nearest))(Variable(small)).data();
    REQUIRE_CLOSE(near, from_vector<float>({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, {1, 1, 4, 4}), kExact);
    // nn.Upsample(size=(3, 3), mode='bilinear', align_corners=True): the middle is the average.
    const Tensor corners =
        Upsample(ops::InterpolateOptions::size(3, 3, InterpMode::Bilinear, true))(Variable(small)).data();
    REQUIRE_CLOSE(corners, from_vector<float>({1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}, {1, 1, 3, 3}), kExact);

    Upsample bilinear(ops::InterpolateOptions::scale(2, 2, InterpMode::Bilinear));
    require_gradcheck(bilinear, {2, 2, 3, 5});
    Upsample to_size(ops::InterpolateOptions::size(7, 4, InterpMode::Bilinear, true));
    require_gradcheck(to_size, {1, 2, 3, 5});

    REQUIRE_THROWS_WITH(Upsample(ops::InterpolateOptions{InterpMode::Bilinear, false, 4, 4, 2.0, 2.0}),
                        Catch::Contains("either an output size or scale factors"));
    REQUIRE_THROWS_WITH(Upsample(ops::InterpolateOptions{}), Catch::Contains("either an output size or scale factors"));
    REQUIRE_THROWS_WITH(Upsample(ops::InterpolateOptions::scale(2, 2, InterpMode::Nearest, true)),
                        Catch::Contains("align_corners can only be set with mode bilinear"));
    REQUIRE_THROWS_WITH(Upsample(ops::InterpolateOptions::scale(2, -1, InterpMode::Nearest)),
                        Catch::Contains("scale factors must be finite and > 0"));
}

TEST_CASE("ModuleList: children 0, 1, ... with PyTorch's keys, no forward", "[nn][layers][container]") {
    ModuleList list({std::make_shared<Conv2d>(3, 4, 1), std::make_shared<MaxPool2d>(2)});
    list.push_back(std::make_shared<BatchNorm2d>(4));
    REQUIRE(list.size() == 3);
    REQUIRE(list[1].type_name() == "MaxPool2d");
    REQUIRE_THROWS(list[3]);
    std::vector<std::string> keys;
    for (const auto& [k, t] : list.state_dict()) keys.push_back(k);
    // list(nn.ModuleList([nn.Conv2d(3, 4, 1), nn.MaxPool2d(2), nn.BatchNorm2d(4)]).state_dict())
    REQUIRE(keys == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "2.running_mean",
                                             "2.running_var", "2.num_batches_tracked"});
    REQUIRE_THROWS_WITH(list(Variable(zeros({1, 3, 4, 4}))), Catch::Contains("ModuleList has no single-input forward"));
    const Variable y = list[0](Variable(zeros({1, 3, 4, 4})));  // the owner calls the children
    REQUIRE(y.shape() == Shape{1, 4, 4, 4});
    REQUIRE(list.str().rfind("ModuleList(\n  (0): Conv2d(3, 4, kernel_size=(1, 1), stride=(1, 1))\n  (1): MaxPool2d(",
                             0) == 0);
}
