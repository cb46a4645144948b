// GradScaler on CPU tensors: an inf in a grad skips the step and backs the scale off; the scale grows
// after growth_interval clean steps; unscale_ before clipping; state_dict round trip.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "autograd/functions.h"
#include "kernels/elementwise/binary.h"
#include "nn/grad_scaler.h"
#include "nn/optim/adam.h"
#include "nn/optim/sgd.h"
#include "tests/test_util.h"

using namespace segcore;
using autograd::Variable;

namespace {

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    return a.nbytes() == b.nbytes() && std::memcmp(a.data_ptr(), b.data_ptr(), size_t(a.nbytes())) == 0;
}

}  // namespace

TEST_CASE("GradScaler: inf in a grad skips the step and backs off; growth after the interval", "[nn][amp]") {
    Variable p(from_vector<float>({1.f, -1.f, 2.f}, {3}), true);
    nn::SGD opt({p}, {0.5, 0.9, 0.0, 0.0, false});
    nn::GradScaler scaler({8.0, 2.0, 0.5, 3, true});
    REQUIRE(scaler.get_scale() == 8.0);

    const Tensor seed = scaler.scale(ones({}));
    REQUIRE(seed.item<float>() == 8.0f);

    // clean step: grad (scaled by 8) is unscaled inside the fused update
    p.set_grad(scaler.scale(from_vector<float>({1.f, 2.f, -4.f}, {3})));
    scaler.step(opt);
    scaler.update();
    REQUIRE(p.data().get_double(0) == Approx(1.0 - 0.5 * 1.0));
    REQUIRE(p.data().get_double(2) == Approx(2.0 + 0.5 * 4.0));
    REQUIRE(p.grad().get_double(0) == 8.0);  // the stored grad stays scaled (no unscale_ called)
    REQUIRE(scaler.get_growth_tracker() == 1);
    REQUIRE(opt.param_step(0, 0) == 1);

    // inf: nothing moves, the momentum buffer is untouched, the scale halves, the tracker resets
    const Tensor before = p.data().clone();
    const Tensor buf_before = opt.param_buffer(0, 0, "momentum_buffer").clone();
    p.set_grad(from_vector<float>({1.f, INFINITY, 0.f}, {3}));
    scaler.step(opt);
    REQUIRE(scaler.found_inf(opt).item<float>() == 1.0f);
    scaler.update();
    REQUIRE(bitwise_equal(p.data(), before));
    REQUIRE(bitwise_equal(opt.param_buffer(0, 0, "momentum_buffer"), buf_before));
    REQUIRE(scaler.get_scale() == 4.0);
    REQUIRE(scaler.get_growth_tracker() == 0);
    REQUIRE(opt.param_step(0, 0) == 1);  // the skipped call does not count

    // NaN also skips
    p.set_grad(from_vector<float>({NAN, 0.f, 0.f}, {3}));
    scaler.step(opt);
    scaler.update();
    REQUIRE(bitwise_equal(p.data(), before));
    REQUIRE(scaler.get_scale() == 2.0);

    // three clean steps: the scale doubles once
    for (int i = 0; i < 3; ++i) {
        p.set_grad(scaler.scale(from_vector<float>({0.1f, 0.1f, 0.1f}, {3})));
        scaler.step(opt);
        scaler.update();
    }
    REQUIRE(scaler.get_scale() == 4.0);
    REQUIRE(scaler.get_growth_tracker() == 0);
    REQUIRE(opt.param_step(0, 0) == 4);
    // the momentum buffer continued from step 1's (no re-initialisation after the skips)
    REQUIRE(opt.param_buffer(0, 0, "momentum_buffer").get_double(0) ==
            Approx(((1.0 * 0.9 + 0.1) * 0.9 + 0.1) * 0.9 + 0.1));
}

TEST_CASE("GradScaler: unscale_ before clipping, then step; errors on misuse", "[nn][amp]") {
    Variable p(from_vector<float>({0.f, 0.f}, {2}), true);
    nn::Adam opt({p}, {0.1, 0.9, 0.999, 1e-8, 0.0, false});
    nn::GradScaler scaler({1024.0, 2.0, 0.5, 2000, true});
    REQUIRE_THROWS_WITH(scaler.step(opt), Catch::Contains("no scale yet"));
    p.set_grad(scaler.scale(from_vector<float>({3.f, -4.f}, {2})));
    scaler.unscale_(opt);
    REQUIRE(p.grad().get_double(0) == 3.0);  // unscaled in place
    REQUIRE_THROWS_WITH(scaler.unscale_(opt), Catch::Contains("already called"));
    scaler.step(opt);
    REQUIRE_THROWS_WITH(scaler.step(opt), Catch::Contains("already called"));
    scaler.update();
    REQUIRE(p.data().get_double(0) == Approx(-0.1).epsilon(1e-6));
    REQUIRE(p.data().get_double(1) == Approx(0.1).epsilon(1e-6));
    REQUIRE_THROWS_WITH(scaler.update(), Catch::Contains("no inf checks were recorded"));

    // disabled: a plain step
    nn::GradScaler off({1024.0, 2.0, 0.5, 2000, false});
    const Tensor g = from_vector<float>({1.f, 1.f}, {2});
    REQUIRE(off.scale(g).data_ptr() == g.data_ptr());
    p.set_grad(g);
    off.step(opt);
    off.update();
    REQUIRE(opt.param_step(0, 0) == 2);
}

TEST_CASE("GradScaler: state_dict round trip through safetensors", "[nn][amp]") {
    nn::GradScaler a({256.0, 2.0, 0.25, 5, true});
    Variable p(from_vector<float>({1.f}, {1}), true);
    nn::SGD opt({p}, {});
    for (int i = 0; i < 3; ++i) {
        p.set_grad(a.scale(ones({1})));
        a.step(opt);
        a.update();
    }
    const nn::StateDict sd = a.state_dict();
    const std::string path = "/tmp/segcore_scaler_" + std::to_string(::getpid()) + ".safetensors";
    sd.save(path);
    nn::GradScaler b;
    b.load_state_dict(nn::StateDict::load(path));
    std::remove(path.c_str());
    REQUIRE(b.get_scale() == 256.0);
    REQUIRE(b.get_growth_tracker() == 3);
    for (int i = 0; i < 2; ++i) {
        p.set_grad(b.scale(ones({1})));
        b.step(opt);
        b.update();
    }
    REQUIRE(b.get_scale() == 512.0);  // interval 5 restored from the file
    nn::StateDict wrong = sd;
    wrong.metadata["type"] = "Adam";
    REQUIRE_THROWS_WITH(b.load_state_dict(wrong), Catch::Contains("saved by Adam"));
}

TEST_CASE("GradScaler: scale(loss).backward() scales every gradient by S, step unscales", "[nn][amp]") {
    nn::GradScalerOptions o;
    o.init_scale = 1024.0;
    nn::GradScaler scaler(o);
    autograd::Variable w(from_vector<float>({1.0f, -2.0f}, {2}), true);
    const autograd::Variable loss = autograd::sum(autograd::square(w));  // dloss/dw = 2w
    const autograd::Variable scaled = scaler.scale(loss);
    REQUIRE(scaled.item() == Approx(5.0 * 1024.0));
    scaled.backward();
    REQUIRE(w.grad().get_double(0) == Approx(2.0 * 1024.0));
    REQUIRE(w.grad().get_double(1) == Approx(-4.0 * 1024.0));
    nn::SgdOptions so;
    so.lr = 0.1;
    nn::SGD opt({w}, so);
    scaler.step(opt);  // reads the grads divided by S: w -= 0.1 * 2w
    REQUIRE(w.data().get_double(0) == Approx(0.8));
    REQUIRE(w.data().get_double(1) == Approx(-1.6));
}
