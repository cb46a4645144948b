// nn optimisers (SGD, Adam, AdamW) against hand-computed steps; parameter groups; zero_grad;
// state_dict checks and exact resume of optimiser + schedule + grad scaler through a safetensors file.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "kernels/elementwise/binary.h"
#include "nn/grad_scaler.h"
#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"
#include "tests/test_util.h"

using namespace segcore;
using autograd::Variable;

namespace {

Variable param(const std::vector<double>& v, DType dt = DType::F64) {
    return Variable(from_vector<double>(v, {int64_t(v.size())}).to(dt), true);
}

void set_grad(Variable& p, const std::vector<double>& g) {
    p.set_grad(from_vector<double>(g, {int64_t(g.size())}).to(p.dtype()));
}

std::vector<double> values(const Variable& p) {
    std::vector<double> out;
    for (int64_t i = 0; i < p.numel(); ++i) out.push_back(p.data().get_double(i));
    return out;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    const Tensor ca = a.cpu().contiguous(), cb = b.cpu().contiguous();
    return ca.dtype() == cb.dtype() && ca.nbytes() == cb.nbytes() &&
           std::memcmp(ca.data_ptr(), cb.data_ptr(), size_t(ca.nbytes())) == 0;
}

std::string temp_path(const std::string& name) {
    std::string file = "segcore_";  // appended piecewise: GCC 12 warns (-Wrestrict) on "lit" + string
    file += name;
    file += '_';
    file += std::to_string(::getpid());
    return (std::filesystem::temp_directory_path() / file).string();
}

}  // namespace

TEST_CASE("SGD: hand-computed momentum, nesterov and weight decay", "[nn][optim]") {
    Variable p = param({1.0, -2.0});
    nn::SgdOptions o;
    o.lr = 0.1;
    o.momentum = 0.9;
    o.weight_decay = 0.01;
    o.nesterov = true;
    nn::SGD opt({p}, o);
    // step 1: d = g + wd p = (0.51, -1.02); buf = d; nesterov d' = d + 0.9 buf = 1.9 d
    set_grad(p, {0.5, -1.0});
    opt.step();
    const double d0 = 0.5 + 0.01 * 1.0, d1 = -1.0 + 0.01 * -2.0;
    const double p0 = 1.0 - 0.1 * 1.9 * d0, p1 = -2.0 - 0.1 * 1.9 * d1;
    REQUIRE(values(p)[0] == Approx(p0).epsilon(1e-14));
    REQUIRE(values(p)[1] == Approx(p1).epsilon(1e-14));
    // step 2: d = g + wd p; buf = 0.9 buf + d; d' = d + 0.9 buf
    set_grad(p, {0.25, 0.0});
    opt.step();
    const double e0 = 0.25 + 0.01 * p0, e1 = 0.0 + 0.01 * p1;
    const double b0 = 0.9 * d0 + e0, b1 = 0.9 * d1 + e1;
    REQUIRE(values(p)[0] == Approx(p0 - 0.1 * (e0 + 0.9 * b0)).epsilon(1e-14));
    REQUIRE(values(p)[1] == Approx(p1 - 0.1 * (e1 + 0.9 * b1)).epsilon(1e-14));
    REQUIRE(opt.param_step(0, 0) == 2);
    REQUIRE(opt.param_buffer(0, 0, "momentum_buffer").get_double(0) == Approx(b0).epsilon(1e-14));
}

TEST_CASE("Adam and AdamW: hand-computed first steps", "[nn][optim]") {
    // Step 1 with bias correction: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps).
    {
        Variable p = param({1.0, -2.0, 3.0});
        nn::AdamOptions o;
        o.lr = 0.01;
        nn::Adam opt({p}, o);
        set_grad(p, {0.5, -4.0, 0.0});
        opt.step();
        REQUIRE(values(p)[0] == Approx(1.0 - 0.01 * 0.5 / (0.5 + 1e-8)).epsilon(1e-12));
        REQUIRE(values(p)[1] == Approx(-2.0 + 0.01 * 4.0 / (4.0 + 1e-8)).epsilon(1e-12));
        REQUIRE(values(p)[2] == 3.0);  // zero grad, no decay: m = 0
        // step 2, closed form
        set_grad(p, {0.5, 1.0, 0.0});
        const double before = values(p)[1];
        opt.step();
        const double m = 0.9 * (0.1 * -4.0) + 0.1 * 1.0, v = 0.999 * (0.001 * 16.0) + 0.001 * 1.0;
        const double upd = (0.01 / (1 - 0.81)) * m / (std::sqrt(v) / std::sqrt(1 - 0.999 * 0.999) + 1e-8);
        REQUIRE(values(p)[1] == Approx(before - upd).epsilon(1e-12));
        REQUIRE(opt.param_step(0, 0) == 2);
    }
    // Adam's weight decay is L2 on the gradient: with g = 0 the first step moves p by ~lr*sign(p).
    {
        Variable p = param({2.0, -0.5});
        nn::AdamOptions o;
        o.lr = 0.1;
        o.weight_decay = 0.5;
        nn::Adam opt({p}, o);
        set_grad(p, {0.0, 0.0});
        opt.step();
        REQUIRE(values(p)[0] == Approx(2.0 - 0.1 * 1.0 / (1.0 + 1e-8)).epsilon(1e-12));
        REQUIRE(values(p)[1] == Approx(-0.5 + 0.1 * 0.25 / (0.25 + 1e-8)).epsilon(1e-12));
    }
    // AdamW's is decoupled: with g = 0 only p *= 1 - lr*wd.
    {
        Variable p = param({2.0, -0.5});
        nn::AdamOptions o;
        o.lr = 0.1;
        o.weight_decay = 0.5;
        nn::AdamW opt({p}, o);
        set_grad(p, {0.0, 0.0});
        opt.step();
        REQUIRE(values(p)[0] == Approx(2.0 * 0.95).epsilon(1e-15));
        REQUIRE(values(p)[1] == Approx(-0.5 * 0.95).epsilon(1e-15));
        REQUIRE(opt.type() == "AdamW");
        REQUIRE(nn::AdamW({}).param_groups().empty());
    }
}

TEST_CASE("optimisers: parameter groups with their own lr and weight decay", "[nn][optim]") {
    Variable a = param({1.0}), b = param({1.0}), c = param({1.0});
    nn::SGD opt({a}, {0.1, 0.0, 0.0, 0.0, false});
    nn::ParamGroup g = opt.make_group({b});
    g.lr = 0.01;
    opt.add_param_group(g);
    nn::ParamGroup h = opt.make_group({c});
    h.weight_decay = 1.0;
    opt.add_param_group(h);
    REQUIRE(opt.param_groups().size() == 3);
    for (Variable* v : {&a, &b, &c}) set_grad(*v, {1.0});
    opt.step();
    REQUIRE(values(a)[0] == Approx(0.9));
    REQUIRE(values(b)[0] == Approx(0.99));
    REQUIRE(values(c)[0] == Approx(1.0 - 0.1 * 2.0));
    // a parameter may be in one group only
    REQUIRE_THROWS_WITH(opt.add_param_group(opt.make_group({a})), Catch::Contains("already belongs to a group"));
    // a bad hyper-parameter is named
    nn::ParamGroup bad = opt.make_group({param({0.0})});
    bad.nesterov = true;
    REQUIRE_THROWS_WITH(opt.add_param_group(bad), Catch::Contains("nesterov momentum requires"));
}

TEST_CASE("optimisers: zero_grad, parameters without grads, f32", "[nn][optim]") {
    Variable a = param({1.0, 2.0}, DType::F32), b = param({3.0}, DType::F32);
    nn::Adam opt({a, b}, {});
    set_grad(a, {1.0, 1.0});
    opt.step();  // b has no grad: untouched, no state
    REQUIRE(values(b)[0] == 3.0);
    REQUIRE(opt.param_step(0, 1) == 0);
    REQUIRE(opt.param_step(0, 0) == 1);
    REQUIRE_FALSE(opt.state_dict().contains("state.0.1.step"));
    opt.zero_grad(false);
    REQUIRE(a.grad().defined());
    REQUIRE(a.grad().get_double(0) == 0.0);
    opt.zero_grad();
    REQUIRE_FALSE(a.grad().defined());
}

TEST_CASE("clip_grad_norm_ on parameters", "[nn][optim]") {
    Variable a = param({3.0}), b = param({0.0, 4.0}), c = param({7.0});
    set_grad(a, {3.0});
    set_grad(b, {0.0, 4.0});  // norm 5; c has no grad
    const Tensor n = nn::clip_grad_norm_({a, b, c}, 1.0);
    REQUIRE(n.item_double() == Approx(5.0));
    REQUIRE(a.grad().get_double(0) == Approx(3.0 / (5.0 + 1e-6)));
    REQUIRE(b.grad().get_double(1) == Approx(4.0 / (5.0 + 1e-6)));
    REQUIRE(nn::grad_norm({a, b}).item_double() == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("optimisers: load_state_dict checks what it loads", "[nn][optim]") {
    Variable a = param({1.0, 2.0}), b = param({3.0});
    nn::Adam opt({a, b}, {});
    set_grad(a, {1.0, 1.0});
    set_grad(b, {1.0});
    opt.step();
    const nn::StateDict sd = opt.state_dict();
    REQUIRE(sd.metadata.at("type") == "Adam");
    REQUIRE(sd.contains("state.0.0.exp_avg"));
    REQUIRE(sd.contains("state.0.1.exp_avg_sq"));
    REQUIRE(sd.contains("param_groups.0.lr"));
    REQUIRE(sd.get_i64("state.0.0.step", "test") == 1);

    nn::SGD sgd({a, b}, {});
    REQUIRE_THROWS_WITH(sgd.load_state_dict(sd), Catch::Contains("saved by Adam, not SGD"));
    nn::Adam one({a}, {});
    REQUIRE_THROWS_WITH(one.load_state_dict(sd), Catch::Contains("group 0 has 2 parameters in the state dict, 1"));
    Variable wide = param({1.0, 2.0, 3.0});
    nn::Adam other({wide, b}, {});
    REQUIRE_THROWS_WITH(other.load_state_dict(sd),
                        Catch::Contains("state.0.0.exp_avg has shape (2,), but parameter 0 of group 0 has shape (3,)"));
    nn::Adam two({a}, {});
    two.add_param_group(two.make_group({b}));
    REQUIRE_THROWS_WITH(two.load_state_dict(sd), Catch::Contains("has 1 parameter groups, this optimiser has 2"));
    nn::StateDict missing = sd;
    missing.tensors.erase("state.0.1.exp_avg");
    nn::Adam fresh({a, b}, {});
    REQUIRE_THROWS_WITH(fresh.load_state_dict(missing), Catch::Contains("no entry 'state.0.1.exp_avg'"));
    REQUIRE(fresh.param_step(0, 0) == 0);  // a failed load changes nothing
}

namespace {

// A small regression problem: loss = 0.5 * sum (w * x - y)^2 per parameter; grad = (w*x - y) * x.
struct Problem {
    std::vector<Variable> params;
    std::vector<Tensor> x, y;
    Problem() {
        const std::vector<int64_t> sizes = {5, 17, 3};
        for (size_t i = 0; i < sizes.size(); ++i) {
            params.emplace_back(test::random_tensor({sizes[i]}, DType::F32, -1, 1, 7 + uint32_t(i)), true);
            x.push_back(test::random_tensor({sizes[i]}, DType::F32, 0.5, 2, 17 + uint32_t(i)));
            y.push_back(test::random_tensor({sizes[i]}, DType::F32, -1, 1, 27 + uint32_t(i)));
        }
    }
    // Grads scaled by the scaler (as backward of a scaled loss would give); an inf at iteration 6.
    void backward(nn::GradScaler& scaler, int64_t iter) {
        for (size_t i = 0; i < params.size(); ++i) {
            Tensor g = ops::mul(ops::sub(ops::mul(params[i].data(), x[i]), y[i]), x[i]);
            g = scaler.scale(g);
            if (iter == 6 && i == 1) g.narrow(0, 3, 1).fill_(INFINITY);
            params[i].set_grad(g);
        }
    }
};

struct Trainer {
    Problem prob;
    nn::AdamW opt;
    nn::PolyLR sched;
    nn::GradScaler scaler;
    Trainer()
        : opt({prob.params[0], prob.params[1]}, {0.05, 0.9, 0.99, 1e-8, 0.1, false}),
          sched((add_group(), opt), 12, 0.9, 1e-4, {nn::WarmupKind::Linear, 3, 0.1}),
          scaler({1024.0, 2.0, 0.5, 2, true}) {}
    void add_group() {
        // the last parameter goes in its own group with a lower lr
        nn::ParamGroup g = opt.make_group({prob.params[2]});
        g.lr = 0.005;
        opt.add_param_group(g);
    }
    void iteration(int64_t iter) {
        prob.backward(scaler, iter);
        scaler.unscale_(opt);
        nn::clip_grad_norm_(prob.params, 10.0);
        scaler.step(opt);
        scaler.update();
        sched.step();
        opt.zero_grad();
    }
    nn::StateDict state() const {
        nn::StateDict sd;
        sd.insert("optimizer.", opt.state_dict());
        sd.insert("scheduler.", sched.state_dict());
        sd.insert("scaler.", scaler.state_dict());
        return sd;
    }
};

}  // namespace

TEST_CASE("optimisers: optimiser + schedule + scaler resume bit-exactly from a safetensors file", "[nn][optim]") {
    Trainer straight;
    for (int64_t it = 0; it < 10; ++it) straight.iteration(it);

    const std::string path = temp_path("optim_resume.safetensors");
    {
        Trainer first;
        for (int64_t it = 0; it < 5; ++it) first.iteration(it);
        first.state().save(path);
        // the parameters travel with the model checkpoint; here, by hand
        nn::StateDict params;
        for (size_t i = 0; i < first.prob.params.size(); ++i)
            params.tensors[std::to_string(i)] = first.prob.params[i].data();
        params.save(path + ".params");
    }
    Trainer resumed;
    const nn::StateDict ckpt = nn::StateDict::load(path);
    const nn::StateDict params = nn::StateDict::load(path + ".params");
    for (size_t i = 0; i < resumed.prob.params.size(); ++i) {
        Tensor d = resumed.prob.params[i].data();  // a handle to the parameter's storage
        d.copy_(params.at(std::to_string(i), "test"));
    }
    resumed.opt.load_state_dict(ckpt.extract("optimizer."));
    resumed.sched.load_state_dict(ckpt.extract("scheduler."));
    resumed.scaler.load_state_dict(ckpt.extract("scaler."));
    for (int64_t it = 5; it < 10; ++it) resumed.iteration(it);
    std::remove(path.c_str());
    std::remove((path + ".params").c_str());

    for (size_t i = 0; i < straight.prob.params.size(); ++i) {
        INFO("parameter " << i);
        REQUIRE(bitwise_equal(resumed.prob.params[i].data(), straight.prob.params[i].data()));
        const size_t g = i < 2 ? 0 : 1, k = i < 2 ? i : 0;
        REQUIRE(bitwise_equal(resumed.opt.param_buffer(g, k, "exp_avg"), straight.opt.param_buffer(g, k, "exp_avg")));
        REQUIRE(
            bitwise_equal(resumed.opt.param_buffer(g, k, "exp_avg_sq"), straight.opt.param_buffer(g, k, "exp_avg_sq")));
    }
    REQUIRE(resumed.scaler.get_scale() == straight.scaler.get_scale());
    REQUIRE(resumed.sched.get_last_lr() == straight.sched.get_last_lr());
    // the inf at iteration 6 skipped one step of every parameter
    REQUIRE(straight.opt.param_step(0, 0) == 9);
    REQUIRE(resumed.opt.param_step(0, 0) == 9);
    REQUIRE(straight.opt.state_dict().get_i64("state.1.0.step", "test") == 9);
    REQUIRE(straight.sched.get_last_lr()[1] < straight.sched.get_last_lr()[0]);
}
