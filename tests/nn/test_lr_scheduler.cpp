// Learning-rate schedules: values at chosen iterations against the closed-form formulas, warm-up
// composition, per-group base lrs, state_dict round trip.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "nn/optim/lr_scheduler.h"
#include "nn/optim/sgd.h"

using namespace segcore;
using autograd::Variable;

namespace {

struct Setup {
    Variable a{zeros({2}), true}, b{zeros({3}), true};
    nn::SGD opt;
    Setup() : opt({a}, {0.1, 0.9, 0.0, 0.0, false}) {
        nn::ParamGroup g = opt.make_group({b});
        g.lr = 0.01;  // a backbone at 0.1x
        opt.add_param_group(g);
    }
};

// Steps the scheduler to iteration `iter` and returns the lrs of both groups.
std::vector<double> lrs_at(nn::LRScheduler& s, int64_t iter) {
    while (s.last_iter() < iter) s.step();
    return s.get_last_lr();
}

double linear_warm(int64_t i, int64_t w, double r) { return i >= w ? 1.0 : 1.0 - (1.0 - double(i) / w) * (1.0 - r); }

}  // namespace

TEST_CASE("PolyLR: closed form, min_lr, clamped past max_iters", "[nn][lr]") {
    Setup s;
    nn::PolyLR sched(s.opt, 100, 0.9, 1e-4);
    REQUIRE(s.opt.param_groups()[0].lr == 0.1);  // iteration 0 written at construction
    for (int64_t it : {0, 1, 37, 99, 100, 150}) {
        const double f = std::pow(1.0 - std::min<int64_t>(it, 100) / 100.0, 0.9);
        const std::vector<double> lr = lrs_at(sched, it);
        REQUIRE(lr[0] == Approx((0.1 - 1e-4) * f + 1e-4).epsilon(1e-14));
        REQUIRE(lr[1] == Approx((0.01 - 1e-4) * f + 1e-4).epsilon(1e-14));
    }
}

TEST_CASE("CosineLR: closed form", "[nn][lr]") {
    Setup s;
    nn::CosineLR sched(s.opt, 50, 1e-3);
    for (int64_t it : {0, 1, 25, 49, 50, 60}) {
        const double c = (1.0 + std::cos(M_PI * std::min<int64_t>(it, 50) / 50.0)) / 2.0;
        const std::vector<double> lr = lrs_at(sched, it);
        REQUIRE(lr[0] == Approx(1e-3 + (0.1 - 1e-3) * c).epsilon(1e-14));
        REQUIRE(lr[1] == Approx(1e-3 + (0.01 - 1e-3) * c).epsilon(1e-14));
    }
}

TEST_CASE("StepLR and MultiStepLR: closed form", "[nn][lr]") {
    {
        Setup s;
        nn::StepLR sched(s.opt, 30, 0.5);
        for (int64_t it : {0, 29, 30, 59, 60, 95}) {
            const std::vector<double> lr = lrs_at(sched, it);
            REQUIRE(lr[0] == Approx(0.1 * std::pow(0.5, it / 30)).epsilon(1e-15));
            REQUIRE(lr[1] == Approx(0.01 * std::pow(0.5, it / 30)).epsilon(1e-15));
        }
    }
    {
        Setup s;
        nn::MultiStepLR sched(s.opt, {10, 25, 25}, 0.1);
        const std::vector<std::pair<int64_t, int>> expect = {{0, 0}, {9, 0}, {10, 1}, {24, 1}, {25, 3}, {80, 3}};
        for (auto [it, k] : expect) REQUIRE(lrs_at(sched, it)[0] == Approx(0.1 * std::pow(0.1, k)).epsilon(1e-15));
        REQUIRE_THROWS_WITH(nn::MultiStepLR(s.opt, {5, 3}), Catch::Contains("increasing order"));
    }
}

TEST_CASE("warm-up composes with every schedule", "[nn][lr]") {
    const nn::Warmup lin{nn::WarmupKind::Linear, 10, 0.1};
    const nn::Warmup ex{nn::WarmupKind::Exponential, 10, 0.01};
    {
        Setup s;
        nn::PolyLR sched(s.opt, 100, 1.0, 0.0, lin);
        for (int64_t it : {0, 1, 5, 9, 10, 40}) {
            const std::vector<double> lr = lrs_at(sched, it);
            const double expect = 0.1 * (1.0 - it / 100.0) * linear_warm(it, 10, 0.1);
            REQUIRE(lr[0] == Approx(expect).epsilon(1e-14));
            REQUIRE(lr[1] == Approx(expect / 10).epsilon(1e-14));
        }
        REQUIRE(sched.warmup_factor(0) == Approx(0.1));
    }
    {
        Setup s;
        nn::StepLR sched(s.opt, 4, 0.5, ex);
        for (int64_t it : {0, 3, 4, 9, 10, 12}) {
            const double w = it >= 10 ? 1.0 : std::pow(0.01, 1.0 - it / 10.0);
            REQUIRE(lrs_at(sched, it)[0] == Approx(0.1 * std::pow(0.5, it / 4) * w).epsilon(1e-14));
        }
    }
    {
        Setup s;
        nn::CosineLR sched(s.opt, 20, 0.0, lin);
        for (int64_t it : {0, 7, 10, 15}) {
            const double c = (1.0 + std::cos(M_PI * it / 20.0)) / 2.0;
            REQUIRE(lrs_at(sched, it)[1] == Approx(0.01 * c * linear_warm(it, 10, 0.1)).epsilon(1e-14));
        }
    }
    {
        Setup s;
        nn::MultiStepLR sched(s.opt, {3}, 0.1, lin);
        REQUIRE(lrs_at(sched, 5)[0] == Approx(0.1 * 0.1 * linear_warm(5, 10, 0.1)).epsilon(1e-14));
    }
    Setup s;
    REQUIRE_THROWS_WITH(nn::PolyLR(s.opt, 10, 0.9, 0.0, {nn::WarmupKind::Linear, 0, 0.1}),
                        Catch::Contains("warmup_iters > 0"));
}

TEST_CASE("schedulers: state_dict resumes exactly", "[nn][lr]") {
    const nn::Warmup lin{nn::WarmupKind::Linear, 5, 0.2};
    Setup s1;
    nn::PolyLR a(s1.opt, 40, 0.9, 0.0, lin);
    for (int i = 0; i < 7; ++i) a.step();
    const nn::StateDict sd = a.state_dict();
    REQUIRE(sd.get_i64("last_iter", "test") == 7);
    REQUIRE(sd.get_f64("base_lrs.1", "test") == 0.01);

    Setup s2;
    nn::PolyLR b(s2.opt, 40, 0.9, 0.0, lin);
    b.load_state_dict(sd);
    REQUIRE(b.last_iter() == 7);
    REQUIRE(b.get_last_lr() == a.get_last_lr());
    for (int i = 0; i < 5; ++i) {
        a.step();
        b.step();
        REQUIRE(b.get_last_lr() == a.get_last_lr());
    }
    Setup s3;
    nn::CosineLR c(s3.opt, 40);
    REQUIRE_THROWS_WITH(c.load_state_dict(sd), Catch::Contains("saved by PolyLR, not CosineLR"));
}
