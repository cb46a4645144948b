// Conv2d, ConvTranspose2d and BatchNorm2d modules: torch.nn names and shapes, default init,
// forward = the ops, running statistics and num_batches_tracked, train/eval behaviour, and a
// small conv net that learns on the CPU.
#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/functions.h"
#include "kernels/ops.h"
#include "nn/layers.h"
#include "nn/optim/sgd.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::nn;
namespace F = segcore::autograd;

TEST_CASE("Conv2d and ConvTranspose2d: names, shapes, init, forward", "[nn][layers][conv2d]") {
    Conv2d conv(8, 16, 3, {.stride = 2, .padding = 1, .groups = 2});
    REQUIRE(conv.weight.shape() == Shape{16, 4, 3, 3});
    REQUIRE(conv.bias.shape() == Shape{16});
    const double bound = 1.0 / std::sqrt(4.0 * 9.0);  // fan_in = in/groups * k * k
    REQUIRE(ops::max(ops::abs(conv.weight.data())).item_double() <= bound);
    REQUIRE(ops::max(ops::abs(conv.bias.data())).item_double() <= bound);
    REQUIRE(conv.str() == "Conv2d(8, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2)");
    const Tensor x = test::random_tensor({2, 8, 9, 10}, DType::F32, -1, 1, 1);
    REQUIRE_CLOSE(conv(F::Variable(x)).data(), ops::conv2d(x, conv.weight.data(), conv.bias.data(), conv.options()),
                  (test::Tolerance{0, 0}));

    ConvTranspose2d up(16, 8, 2, {.stride = 2, .bias = false});
    REQUIRE(up.weight.shape() == Shape{16, 8, 2, 2});  // PyTorch's (in, out / groups, k, k)
    REQUIRE_FALSE(up.bias.defined());
    REQUIRE(up(F::Variable(zeros({1, 16, 5, 5}))).shape() == Shape{1, 8, 10, 10});
    REQUIRE_THROWS_WITH(Conv2d(6, 4, 3, {.groups = 4}), Catch::Contains("divisible by groups"));
}

TEST_CASE("BatchNorm2d: buffers, running statistics, train vs eval", "[nn][layers][batch_norm]") {
    BatchNorm2d bn(3);
    std::vector<std::string> keys;
    for (auto& [k, t] : bn.state_dict()) keys.push_back(k);
    REQUIRE(keys == std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
    REQUIRE(bn.num_batches_tracked.dtype() == DType::I64);
    const Tensor x = test::random_tensor({4, 3, 5, 5}, DType::F32, 1, 3, 2);  // mean ~2
    bn(F::Variable(x));
    bn(F::Variable(x));
    REQUIRE(bn.num_batches_tracked.data().item<int64_t>() == 2);
    // Two updates with momentum 0.1 from 0: 0.19 of the batch mean.
    const Tensor mean = ops::mean(x, {0, 2, 3});
    REQUIRE_CLOSE(bn.running_mean.data(), ops::mul(mean, 0.19), (test::Tolerance{1e-5, 1e-5}));
    bn.eval();
    const F::Variable y = bn(F::Variable(x));
    const auto expected = ops::batch_norm(x, bn.weight.data(), bn.bias.data(), bn.running_mean.data(),
                                          bn.running_var.data(), false);
    REQUIRE_CLOSE(y.data(), expected.y, (test::Tolerance{0, 0}));
    REQUIRE(bn.num_batches_tracked.data().item<int64_t>() == 2);  // eval does not count

    BatchNorm2d cumulative(3, {.momentum = -1});  // PyTorch's momentum=None
    cumulative(F::Variable(x));
    cumulative(F::Variable(ops::mul(x, 3.0)));
    REQUIRE_CLOSE(cumulative.running_mean.data(), ops::mul(mean, 2.0), (test::Tolerance{1e-5, 1e-5}));  // (m + 3m) / 2
}

TEST_CASE("a conv-bn-relu net learns to segment a synthetic pattern on the CPU", "[nn][layers][train]") {
    // Per-pixel task: class 1 where a smoothed noise field is positive. Needs spatial context
    // (the 3x3 convs) and channel mixing (the 1x1 head).
    manual_seed(4);
    Generator g(9);
    const Tensor noise = randn({8, 1, 16, 16}, {}, &g);
    const Tensor field = ops::conv2d(noise, full({1, 1, 3, 3}, 1.0 / 9), Tensor(), ops::Conv2dOptions::make(1, 1));
    const Tensor target = ops::gt(field, 0.0).to(DType::F32);  // (8, 1, 16, 16)
    Sequential net({std::make_shared<Conv2d>(1, 8, 3, Conv2dConfig{.padding = 1, .bias = false}),
                    std::make_shared<BatchNorm2d>(8, BatchNormConfig{.act = kernels::Act::Relu}),
                    std::make_shared<Conv2d>(8, 8, 3, Conv2dConfig{.padding = 1}), std::make_shared<ReLU>(),
                    std::make_shared<Conv2d>(8, 1, 1)});
    SgdOptions o;
    o.lr = 0.5;
    o.momentum = 0.9;
    SGD opt(net.parameters(), o);
    double first = 0, last = 0;
    for (int step = 0; step < 60; ++step) {
        // Binary cross-entropy from logits z: softplus(z) - t z, written with the Foundation ops.
        const F::Variable z = net(F::Variable(noise));
        const F::Variable t(target);
        const F::Variable loss = F::mean(F::sub(F::add(F::relu(z), F::log(F::add(F::exp(F::neg(F::abs(z))), 1.0))),
                                                F::mul(t, z)));
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (step == 0) first = loss.item();
        last = loss.item();
    }
    INFO("loss " << first << " -> " << last);
    REQUIRE(last < 0.5 * first);
}
