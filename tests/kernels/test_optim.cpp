// Fused multi-tensor optimiser kernels and gradient helpers (kernels/optim) on the CPU against naive
// per-element loops, f32 and f64, over lists of odd sizes (1, primes, chunk boundaries).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/parallel.h"
#include "kernels/elementwise/binary.h"
#include "kernels/optim/fused_optim.h"
#include "kernels/optim/grad_ops.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::tolerance_for;

const segcore::test::Tolerance kExact{0, 0};

namespace {

// Sizes around the 16384-element chunk and the 4-wide tail.
const std::vector<int64_t> kSizes = {1, 3, 17, 4097, 16383, 16384, 16385, 40001};

std::vector<Tensor> random_list(DType dt, double lo, double hi, uint32_t seed) {
    std::vector<Tensor> out;
    for (size_t i = 0; i < kSizes.size(); ++i)
        out.push_back(test::random_tensor({kSizes[i]}, dt, lo, hi, seed + uint32_t(i)));
    return out;
}

std::vector<Tensor> clone_list(const std::vector<Tensor>& xs) {
    std::vector<Tensor> out;
    for (const Tensor& x : xs) out.push_back(x.clone());
    return out;
}

std::vector<Tensor> zeros_list(const std::vector<Tensor>& xs) {
    std::vector<Tensor> out;
    for (const Tensor& x : xs) out.push_back(zeros_like(x));
    return out;
}

void require_lists_close(const std::vector<Tensor>& a, const std::vector<Tensor>& b, test::Tolerance tol) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        INFO("tensor " << i << " of " << a.size());
        REQUIRE_CLOSE(a[i], b[i], tol);
    }
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    return a.nbytes() == b.nbytes() && std::memcmp(a.data_ptr(), b.data_ptr(), size_t(a.nbytes())) == 0;
}

// ---- naive references: one element at a time, the header's formulas with T arithmetic ----

template <typename T>
void naive_sgd(const kernels::SgdParams& hp, int64_t step, std::vector<Tensor>& p, const std::vector<Tensor>& g,
               std::vector<Tensor>& buf, double inv_scale) {
    for (size_t i = 0; i < p.size(); ++i) {
        T* pp = p[i].data<T>();
        const T* gg = g[i].data<T>();
        for (int64_t j = 0; j < p[i].numel(); ++j) {
            T d = gg[j] * T(inv_scale);
            if (hp.weight_decay != 0) d = d + T(hp.weight_decay) * pp[j];
            if (hp.momentum != 0) {
                T* b = buf[i].data<T>();
                b[j] = step == 1 ? d : T(hp.momentum) * b[j] + T(1.0 - hp.dampening) * d;
                d = hp.nesterov ? d + T(hp.momentum) * b[j] : b[j];
            }
            pp[j] = pp[j] - T(hp.lr) * d;
        }
    }
}

template <typename T>
void naive_adam(const kernels::AdamParams& hp, int64_t step, std::vector<Tensor>& p, const std::vector<Tensor>& g,
                std::vector<Tensor>& m, std::vector<Tensor>& v, std::vector<Tensor>& vmax, double inv_scale) {
    const double bc1 = 1 - std::pow(hp.beta1, double(step)), bc2 = 1 - std::pow(hp.beta2, double(step));
    for (size_t i = 0; i < p.size(); ++i) {
        T* pp = p[i].data<T>();
        const T* gg = g[i].data<T>();
        T* mm = m[i].data<T>();
        T* vv = v[i].data<T>();
        for (int64_t j = 0; j < p[i].numel(); ++j) {
            T d = gg[j] * T(inv_scale);
            if (hp.weight_decay != 0) {
                if (hp.decoupled_weight_decay)
                    pp[j] = pp[j] * T(1 - hp.lr * hp.weight_decay);
                else
                    d = d + T(hp.weight_decay) * pp[j];
            }
            mm[j] = T(hp.beta1) * mm[j] + T(1 - hp.beta1) * d;
            vv[j] = T(hp.beta2) * vv[j] + T(1 - hp.beta2) * d * d;
            T vhat = vv[j];
            if (hp.amsgrad) {
                T* vm = vmax[i].data<T>();
                vm[j] = std::max(vm[j], vv[j]);
                vhat = vm[j];
            }
            const T denom = std::sqrt(vhat) / T(std::sqrt(bc2)) + T(hp.eps);
            pp[j] = pp[j] - T(hp.lr / bc1) * mm[j] / denom;
        }
    }
}

template <typename T>
void check_sgd(const kernels::SgdParams& hp, DType dt) {
    std::vector<Tensor> p = random_list(dt, -1, 1, 10), ref_p = clone_list(p);
    std::vector<Tensor> buf = hp.momentum != 0 ? zeros_list(p) : std::vector<Tensor>{};
    std::vector<Tensor> ref_buf = zeros_list(p);
    for (int64_t step = 1; step <= 3; ++step) {
        const std::vector<Tensor> g = random_list(dt, -2, 2, 100 * uint32_t(step));
        ops::OptimStepArgs a;
        a.params = p;
        a.grads = g;
        a.steps.assign(p.size(), step);
        ops::sgd_step_(a, buf, hp);
        naive_sgd<T>(hp, step, ref_p, g, ref_buf, 1.0);
    }
    require_lists_close(p, ref_p, tolerance_for(dt));
    if (hp.momentum != 0) require_lists_close(buf, ref_buf, tolerance_for(dt));
}

template <typename T>
void check_adam(const kernels::AdamParams& hp, DType dt) {
    std::vector<Tensor> p = random_list(dt, -1, 1, 20), ref_p = clone_list(p);
    std::vector<Tensor> m = zeros_list(p), v = zeros_list(p), vm = hp.amsgrad ? zeros_list(p) : std::vector<Tensor>{};
    std::vector<Tensor> rm = zeros_list(p), rv = zeros_list(p), rvm = zeros_list(p);
    for (int64_t step = 1; step <= 3; ++step) {
        const std::vector<Tensor> g = random_list(dt, -2, 2, 200 * uint32_t(step));
        ops::OptimStepArgs a;
        a.params = p;
        a.grads = g;
        a.steps.assign(p.size(), step);
        ops::adam_step_(a, m, v, vm, hp);
        naive_adam<T>(hp, step, ref_p, g, rm, rv, rvm, 1.0);
    }
    require_lists_close(p, ref_p, tolerance_for(dt));
    require_lists_close(m, rm, tolerance_for(dt));
    require_lists_close(v, rv, tolerance_for(dt));
    if (hp.amsgrad) require_lists_close(vm, rvm, tolerance_for(dt));
}

}  // namespace

TEST_CASE("optim: fused SGD matches a naive loop", "[optim]") {
    std::vector<kernels::SgdParams> cases(4);
    cases[0].lr = 0.1;                          // plain
    cases[1] = {0.05, 0.9, 0.0, 0.0, false};    // momentum
    cases[2] = {0.05, 0.9, 0.25, 1e-2, false};  // dampening + wd
    cases[3] = {0.05, 0.9, 0.0, 5e-4, true};    // nesterov + wd
    for (size_t c = 0; c < cases.size(); ++c) {
        INFO("case " << c);
        check_sgd<float>(cases[c], DType::F32);
        check_sgd<double>(cases[c], DType::F64);
    }
}

TEST_CASE("optim: fused Adam / AdamW / amsgrad match a naive loop", "[optim]") {
    std::vector<kernels::AdamParams> cases(4);
    cases[0].lr = 1e-2;
    cases[1] = {1e-2, 0.9, 0.999, 1e-8, 1e-2, false, false};  // Adam + L2
    cases[2] = {1e-2, 0.8, 0.99, 1e-6, 1e-1, true, false};    // AdamW
    cases[3] = {1e-2, 0.9, 0.999, 1e-8, 1e-2, true, true};    // AdamW + amsgrad
    for (size_t c = 0; c < cases.size(); ++c) {
        INFO("case " << c);
        check_adam<float>(cases[c], DType::F32);
        check_adam<double>(cases[c], DType::F64);
    }
}

TEST_CASE("optim: found_inf skips the step and the skip counter keeps t right", "[optim]") {
    kernels::AdamParams hp;
    hp.lr = 1e-2;
    std::vector<Tensor> p = random_list(DType::F32, -1, 1, 30), ref_p = clone_list(p);
    std::vector<Tensor> m = zeros_list(p), v = zeros_list(p), rm = zeros_list(p), rv = zeros_list(p), none;
    std::vector<Tensor> skipped;
    for (size_t i = 0; i < p.size(); ++i) skipped.push_back(zeros({}, DType::F32));
    Tensor found_inf = zeros({}, DType::F32);
    const Tensor inv_scale = full({}, 0.25, DType::F32);
    // Host step counts 1, 2, 3; call 2 is skipped, so the updates use t = 1 and t = 2.
    for (int64_t call = 1; call <= 3; ++call) {
        const std::vector<Tensor> g = random_list(DType::F32, -8, 8, 300 * uint32_t(call));
        found_inf.fill_(call == 2 ? 1.0 : 0.0);
        ops::OptimStepArgs a;
        a.params = p;
        a.grads = g;
        a.steps.assign(p.size(), call);
        a.skipped = skipped;
        a.inv_scale = inv_scale;
        a.found_inf = found_inf;
        const std::vector<Tensor> before = clone_list(p);
        ops::adam_step_(a, m, v, none, hp);
        if (call == 2) {
            for (size_t i = 0; i < p.size(); ++i) REQUIRE(bitwise_equal(p[i], before[i]));
            for (const Tensor& s : skipped) REQUIRE(s.item<float>() == 1.0f);
        } else {
            naive_adam<float>(hp, call == 1 ? 1 : 2, ref_p, g, rm, rv, none, 0.25);
        }
        REQUIRE_CLOSE(g[0], random_list(DType::F32, -8, 8, 300 * uint32_t(call))[0], kExact);
    }
    require_lists_close(p, ref_p, tolerance_for(DType::F32));

    // SGD: the first update that runs initialises the momentum buffer, even after a skipped call.
    kernels::SgdParams sp{0.1, 0.9, 0.5, 0.0, false};
    std::vector<Tensor> q = random_list(DType::F64, -1, 1, 40), ref_q = clone_list(q);
    std::vector<Tensor> buf = zeros_list(q), ref_buf = zeros_list(q);
    std::vector<Tensor> sk;
    for (size_t i = 0; i < q.size(); ++i) sk.push_back(zeros({}, DType::F32));
    for (int64_t call = 1; call <= 3; ++call) {
        const std::vector<Tensor> g = random_list(DType::F64, -1, 1, 400 * uint32_t(call));
        found_inf.fill_(call == 1 ? 1.0 : 0.0);
        ops::OptimStepArgs a;
        a.params = q;
        a.grads = g;
        a.steps.assign(q.size(), call);
        a.skipped = sk;
        a.found_inf = found_inf;
        ops::sgd_step_(a, buf, sp);
        if (call > 1) naive_sgd<double>(sp, call - 1, ref_q, g, ref_buf, 1.0);
    }
    require_lists_close(q, ref_q, tolerance_for(DType::F64));
    require_lists_close(buf, ref_buf, tolerance_for(DType::F64));
}

TEST_CASE("optim: multi-tensor L2 norm and clipping", "[optim]") {
    for (DType dt : {DType::F32, DType::F64}) {
        INFO(dtype_name(dt));
        std::vector<Tensor> xs = random_list(dt, -3, 3, 50);
        double ss = 0;
        for (const Tensor& x : xs)
            for (int64_t j = 0; j < x.numel(); ++j) ss += x.get_double(j) * x.get_double(j);
        const double norm = std::sqrt(ss);
        const Tensor n = ops::multi_tensor_l2_norm(xs);
        REQUIRE(n.dim() == 0);
        REQUIRE(n.dtype() == dt);
        REQUIRE(n.item_double() == Approx(norm).epsilon(dt == DType::F32 ? 1e-6 : 1e-13));

        // Thread count does not change a bit of the result.
        const int threads = num_threads();
        set_num_threads(1);
        const Tensor n1 = ops::multi_tensor_l2_norm(xs);
        set_num_threads(threads);
        REQUIRE(bitwise_equal(n, n1));

        // Clip below the norm: grads scaled by max_norm / (norm + 1e-6); returns the norm before.
        std::vector<Tensor> g = clone_list(xs);
        const double max_norm = norm / 4;
        const Tensor total = ops::clip_grad_norm_(g, max_norm);
        REQUIRE(total.item_double() == n.item_double());
        const double coef = max_norm / (n.item_double() + 1e-6);
        for (size_t i = 0; i < g.size(); ++i) REQUIRE_CLOSE(g[i], ops::mul(xs[i], coef), tolerance_for(dt));
        REQUIRE(ops::multi_tensor_l2_norm(g).item_double() == Approx(max_norm).epsilon(1e-5));

        // Clip above the norm: coefficient 1, grads unchanged bit for bit.
        std::vector<Tensor> h = clone_list(xs);
        ops::clip_grad_norm_(h, norm * 2);
        for (size_t i = 0; i < h.size(); ++i) REQUIRE(bitwise_equal(h[i], xs[i]));
    }
    REQUIRE(ops::multi_tensor_l2_norm({}).item_double() == 0.0);
    // torch: a non-finite norm is not an error; the coefficient is NaN and so are the grads
    std::vector<Tensor> bad = {from_vector<float>({1.f, NAN}, {2})};
    REQUIRE(std::isnan(ops::clip_grad_norm_(bad, 1.0).item<float>()));
    REQUIRE(std::isnan(bad[0].get_double(0)));
}

TEST_CASE("optim: non_finite_check_and_unscale_", "[optim][amp]") {
    for (DType dt : {DType::F32, DType::F64}) {
        INFO(dtype_name(dt));
        std::vector<Tensor> g = random_list(dt, -4, 4, 60), ref = clone_list(g);
        Tensor found = zeros({}, DType::F32);
        const Tensor inv = full({}, 0.125, DType::F32);
        ops::non_finite_check_and_unscale_(g, found, inv);
        REQUIRE(found.item<float>() == 0.0f);
        for (size_t i = 0; i < g.size(); ++i) REQUIRE_CLOSE(g[i], ops::mul(ref[i], 0.125), kExact);

        // check only: grads untouched
        std::vector<Tensor> h = clone_list(ref);
        ops::non_finite_check_and_unscale_(h, found, Tensor());
        REQUIRE(found.item<float>() == 0.0f);
        for (size_t i = 0; i < h.size(); ++i) REQUIRE(bitwise_equal(h[i], ref[i]));

        for (double bad : {double(INFINITY), -double(INFINITY), double(NAN)}) {
            std::vector<Tensor> k = clone_list(ref);
            Tensor last = k.back();
            Tensor one = last.narrow(0, 40000, 1);
            one.fill_(bad);
            Tensor f = zeros({}, DType::F32);
            ops::non_finite_check_and_unscale_(k, f, inv);
            REQUIRE(f.item<float>() == 1.0f);
        }
    }
}

TEST_CASE("optim: update_scale_ follows torch's _amp_update_scale_", "[optim][amp]") {
    Tensor scale = full({}, 1024.0, DType::F32);
    Tensor tracker = zeros({}, DType::I32);
    Tensor found = zeros({}, DType::F32);
    // two clean steps with interval 3: tracker counts
    ops::update_scale_(scale, tracker, found, 2.0, 0.5, 3);
    ops::update_scale_(scale, tracker, found, 2.0, 0.5, 3);
    REQUIRE(tracker.item<int32_t>() == 2);
    REQUIRE(scale.item<float>() == 1024.0f);
    ops::update_scale_(scale, tracker, found, 2.0, 0.5, 3);  // third: grows, resets
    REQUIRE(tracker.item<int32_t>() == 0);
    REQUIRE(scale.item<float>() == 2048.0f);
    ops::update_scale_(scale, tracker, found, 2.0, 0.5, 3);
    found.fill_(1.0);
    ops::update_scale_(scale, tracker, found, 2.0, 0.5, 3);  // inf: backs off, resets
    REQUIRE(tracker.item<int32_t>() == 0);
    REQUIRE(scale.item<float>() == 1024.0f);
    // growth that would overflow f32 keeps the scale
    Tensor big = full({}, 3e38, DType::F32);
    found.fill_(0.0);
    ops::update_scale_(big, tracker, found, 2.0, 0.5, 1);
    REQUIRE(big.item<float>() == 3e38f);
    REQUIRE(tracker.item<int32_t>() == 0);
}

TEST_CASE("optim: bad input is reported", "[optim]") {
    std::vector<Tensor> p = {zeros({3}), zeros({5})};
    ops::OptimStepArgs a;
    a.params = p;
    a.grads = {zeros({3})};
    a.steps = {1, 1};
    REQUIRE_THROWS_WITH(ops::sgd_step_(a, {}, {}), Catch::Contains("expected 2 grads"));
    a.grads = {zeros({3}), zeros({4})};
    REQUIRE_THROWS_WITH(ops::sgd_step_(a, {}, {}), Catch::Contains("grads[1] has 4 elements, expected 5"));
    a.grads = {zeros({3}), zeros({5}, DType::F64)};
    REQUIRE_THROWS_WITH(ops::sgd_step_(a, {}, {}), Catch::Contains("grads[1] is f64, expected f32"));
    a.grads = {zeros({3}), zeros({5, 2}).select(1, 0)};
    REQUIRE_THROWS_WITH(ops::sgd_step_(a, {}, {}), Catch::Contains("must be contiguous"));
    a.grads = {zeros({3}), zeros({5})};
    a.steps = {1, 0};
    REQUIRE_THROWS_WITH(ops::sgd_step_(a, {}, {}), Catch::Contains("must be >= 1"));
    a.steps = {1, 1};
    a.found_inf = zeros({2});
    REQUIRE_THROWS_WITH(ops::sgd_step_(a, {}, {}), Catch::Contains("found_inf must have one element"));
    a.found_inf = Tensor();
    kernels::AdamParams hp;
    REQUIRE_THROWS_WITH(ops::adam_step_(a, {zeros({3})}, {zeros({3}), zeros({5})}, {}, hp),
                        Catch::Contains("expected 2 exp_avgs"));
    std::vector<Tensor> h = {zeros({3}, DType::F16)};
    Tensor f = zeros({}, DType::F32);
    REQUIRE_THROWS_WITH(ops::non_finite_check_and_unscale_(h, f, Tensor()), Catch::Contains("f32 or f64"));
}
