// Mixed precision end to end on the CPU: autocast (f16 and bf16 compute for the linear layers,
// f32 loss) with the dynamic loss scaler trains a small MLP to high accuracy while the master
// weights stay f32. (Skipping an overflowing step is tested in test_grad_scaler.)
#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "kernels/ops.h"
#include "nn/grad_scaler.h"
#include "nn/layers.h"
#include "nn/optim/adam.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::nn;
namespace F = segcore::autograd;

namespace {

// Two Gaussian blobs per class on a ring: a smooth 4-class problem.
void make_blobs(int64_t n, uint64_t seed, Tensor& x, Tensor& labels) {
    Generator g(seed);
    const Tensor noise = randn({n, 2}, {DType::F64}, &g);
    x = empty({n, 2});
    labels = empty({n}, {DType::I64});
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = i % 4;
        const double a = M_PI / 2 * double(c);
        x.data<float>()[2 * i] = float(2.0 * std::cos(a) + 0.5 * noise.data<double>()[2 * i]);
        x.data<float>()[2 * i + 1] = float(2.0 * std::sin(a) + 0.5 * noise.data<double>()[2 * i + 1]);
        labels.data<int64_t>()[i] = c;
    }
}

}  // namespace

TEST_CASE("autocast + GradScaler train an MLP on the CPU", "[nn][amp][train]") {
    for (DType half : {DType::F16, DType::BF16}) {
        INFO(dtype_name(half));
        manual_seed(5);
        Tensor x, labels, xv, lv;
        make_blobs(1024, 1, x, labels);
        make_blobs(512, 2, xv, lv);
        Sequential net({std::make_shared<Linear>(2, 32), std::make_shared<GELU>(), std::make_shared<Linear>(32, 4)});
        AdamOptions ao;
        ao.lr = 1e-2;
        Adam opt(net.parameters(), ao);
        GradScaler scaler;
        for (int step = 0; step < 150; ++step) {
            const int64_t start = (step * 128) % 1024;
            F::Variable loss;
            {
                F::AutocastGuard ac(half);
                const F::Variable logits = net(F::Variable(x.narrow(0, start, 128)));
                REQUIRE(logits.dtype() == half);
                // The loss reads the 16-bit logits and computes in f32: an f32 scalar.
                loss = F::cross_entropy(logits, labels.narrow(0, start, 128));
                REQUIRE(loss.dtype() == DType::F32);
            }
            opt.zero_grad();
            scaler.scale(loss).backward();
            scaler.step(opt);
            scaler.update();
        }
        for (const auto& p : net.parameters()) REQUIRE(p.dtype() == DType::F32);  // master weights stay f32
        F::NoGradGuard ng;
        const Tensor pred = ops::argmax(net(F::Variable(xv)).data(), 1);
        const double acc = ops::sum(ops::eq(pred, lv).to(DType::F32)).item_double() / 512.0;
        INFO("accuracy " << acc << ", final scale " << scaler.get_scale());
        REQUIRE(acc >= 0.9);
        REQUIRE(std::isfinite(scaler.get_scale()));
    }
}
