// CUDA fused optimisers and gradient helpers against the CPU oracle: many odd-sized tensors (more
// than one chunk table, unaligned views), found_inf skipping on the device, deterministic norms,
// the loss-scale update, and a GradScaler + AdamW trajectory on CUDA vs CPU.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/optim/fused_optim.h"
#include "kernels/optim/grad_ops.h"
#include "nn/grad_scaler.h"
#include "nn/optim/adam.h"
#include "nn/optim/clip_grad.h"
#include "nn/optim/sgd.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::Tolerance;

namespace {

const Tolerance kTol{2e-5, 2e-5};  // f32 update vs the f32 CPU oracle (FMA contraction on the device)
const Tolerance kExact{0, 0};

// Sizes: 1, primes, float4 tails, chunk boundaries, a few large ones; `count` tensors.
std::vector<int64_t> odd_sizes(int count, uint32_t seed) {
    const std::vector<int64_t> fixed = {1, 2, 3, 5, 7, 31, 32, 33, 255, 257, 4099, 16383, 16384, 16385, 65537, 300007};
    std::mt19937 rng(seed);
    std::vector<int64_t> out;
    for (int i = 0; i < count; ++i) out.push_back(i < int(fixed.size()) ? fixed[size_t(i)] : int64_t(1 + rng() % 5000));
    return out;
}

// CPU tensors; every 7th is a contiguous view starting one element into a larger buffer (a pointer
// that is not 16-byte aligned: the scalar path).
std::vector<Tensor> make_list(const std::vector<int64_t>& sizes, double lo, double hi, uint32_t seed) {
    std::vector<Tensor> out;
    for (size_t i = 0; i < sizes.size(); ++i) {
        if (i % 7 == 3) {
            const Tensor big = test::random_tensor({sizes[i] + 1}, DType::F32, lo, hi, seed + uint32_t(i));
            out.push_back(big.narrow(0, 1, sizes[i]));
        } else {
            out.push_back(test::random_tensor({sizes[i]}, DType::F32, lo, hi, seed + uint32_t(i)));
        }
    }
    return out;
}

// Same layout on the device (an unaligned view stays unaligned).
std::vector<Tensor> to_cuda(const std::vector<Tensor>& xs) {
    std::vector<Tensor> out;
    for (const Tensor& x : xs) {
        if (x.offset() != 0) {
            Tensor big = empty({x.numel() + x.offset()}, Device::cuda());
            Tensor view = big.narrow(0, x.offset(), x.numel());
            view.copy_(x);
            out.push_back(view);
        } else {
            out.push_back(x.cuda());
        }
    }
    return out;
}

std::vector<Tensor> clone_list(const std::vector<Tensor>& xs) {
    std::vector<Tensor> out;
    for (const Tensor& x : xs) out.push_back(x.clone());
    return out;
}

void require_lists_close(const std::vector<Tensor>& dev, const std::vector<Tensor>& cpu, Tolerance tol) {
    REQUIRE(dev.size() == cpu.size());
    for (size_t i = 0; i < dev.size(); ++i) {
        INFO("tensor " << i << " numel " << cpu[i].numel());
        REQUIRE(dev[i].is_cuda());
        REQUIRE_CLOSE(dev[i], cpu[i], tol);
    }
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    const Tensor ca = a.cpu().contiguous(), cb = b.cpu().contiguous();
    return ca.nbytes() == cb.nbytes() && std::memcmp(ca.data_ptr(), cb.data_ptr(), size_t(ca.nbytes())) == 0;
}

std::vector<Tensor> scalars(size_t n, Device d) {
    std::vector<Tensor> out;
    for (size_t i = 0; i < n; ++i) out.push_back(zeros({}, {DType::F32, d}));
    return out;
}

}  // namespace

TEST_CASE("optim cuda: fused SGD and Adam/AdamW match the CPU over many odd-sized tensors", "[cuda][optim]") {
    // 1000 tensors: more than one chunk table (465..880 per launch), so the split path runs too.
    const int count = GENERATE(40, 1000);
    const std::vector<int64_t> sizes = odd_sizes(count, 5);
    for (int variant = 0; variant < 6; ++variant) {
        INFO("count " << count << " variant " << variant);
        std::vector<Tensor> p = make_list(sizes, -1, 1, 100), pc = to_cuda(p);
        std::vector<Tensor> s1 = make_list(sizes, -0.1, 0.1, 200), s2 = make_list(sizes, 0, 0.01, 300),
                            s3 = make_list(sizes, 0, 0.02, 400);
        std::vector<Tensor> s1c = to_cuda(s1), s2c = to_cuda(s2), s3c = to_cuda(s3);
        for (int64_t step = 1; step <= 2; ++step) {
            const std::vector<Tensor> g = make_list(sizes, -2, 2, 1000 * uint32_t(step));
            ops::OptimStepArgs a, ac;
            a.params = p;
            a.grads = g;
            a.steps.assign(sizes.size(), step + 3);
            ac.params = pc;
            ac.grads = to_cuda(g);
            ac.steps = a.steps;
            if (variant < 2) {
                kernels::SgdParams hp{0.05, variant == 0 ? 0.0 : 0.9, 0.1, 1e-3, false};
                if (variant == 1) hp = {0.05, 0.9, 0.0, 1e-3, true};
                ops::sgd_step_(a, variant == 0 ? std::vector<Tensor>{} : s1, hp);
                ops::sgd_step_(ac, variant == 0 ? std::vector<Tensor>{} : s1c, hp);
            } else {
                kernels::AdamParams hp{1e-2, 0.9, 0.999, 1e-8, 1e-2, variant >= 3, variant == 4};
                if (variant == 5) hp = {1e-3, 0.8, 0.95, 1e-6, 0.0, false, false};
                const bool ams = hp.amsgrad;
                ops::adam_step_(a, s1, s2, ams ? s3 : std::vector<Tensor>{}, hp);
                ops::adam_step_(ac, s1c, s2c, ams ? s3c : std::vector<Tensor>{}, hp);
            }
        }
        require_lists_close(pc, p, kTol);
        require_lists_close(s1c, s1, kTol);
        require_lists_close(s2c, s2, kTol);
        require_lists_close(s3c, s3, kTol);
    }
}

TEST_CASE("optim cuda: found_inf skips the step on the device, inv_scale unscales", "[cuda][optim][amp]") {
    const std::vector<int64_t> sizes = odd_sizes(30, 6);
    std::vector<Tensor> p = make_list(sizes, -1, 1, 10), pc = to_cuda(p);
    std::vector<Tensor> m = make_list(sizes, 0, 0, 20), v = make_list(sizes, 0, 0, 30);
    std::vector<Tensor> mc = to_cuda(m), vc = to_cuda(v);
    std::vector<Tensor> sk = scalars(sizes.size(), Device::cpu()), skc = scalars(sizes.size(), Device::cuda());
    Tensor found = zeros({}, DType::F32), foundc = zeros({}, {DType::F32, Device::cuda()});
    const Tensor inv = full({}, 1.0 / 64, DType::F32), invc = inv.cuda();
    kernels::AdamParams hp{1e-2, 0.9, 0.999, 1e-8, 1e-2, true, false};
    for (int64_t call = 1; call <= 4; ++call) {
        const std::vector<Tensor> g = make_list(sizes, -64, 64, 77 * uint32_t(call));
        std::vector<Tensor> gc = to_cuda(g);
        // the device decides: found_inf comes from the check kernel, not from the host
        if (call == 2) gc[5].narrow(0, 3, 1).fill_(INFINITY);
        if (call == 2) g[5].narrow(0, 3, 1).fill_(INFINITY);
        found.zero_();
        foundc.zero_();
        ops::non_finite_check_and_unscale_(g, found, Tensor());
        ops::non_finite_check_and_unscale_(gc, foundc, Tensor());
        const std::vector<Tensor> before = clone_list(pc);
        ops::OptimStepArgs a{p, g, std::vector<int64_t>(sizes.size(), call), sk, inv, found};
        ops::OptimStepArgs ac{pc, gc, std::vector<int64_t>(sizes.size(), call), skc, invc, foundc};
        ops::adam_step_(a, m, v, {}, hp);
        ops::adam_step_(ac, mc, vc, {}, hp);
        if (call == 2) {
            REQUIRE(foundc.item<float>() == 1.0f);
            for (size_t i = 0; i < pc.size(); ++i) REQUIRE(bitwise_equal(pc[i], before[i]));
        }
    }
    for (const Tensor& s : skc) REQUIRE(s.item<float>() == 1.0f);
    require_lists_close(pc, p, kTol);
    require_lists_close(mc, m, kTol);
    require_lists_close(vc, v, kTol);
}

TEST_CASE("optim cuda: multi-tensor L2 norm, clipping, unscale, update_scale", "[cuda][optim][amp]") {
    for (int count : {1, 50, 1000}) {
        INFO("count " << count);
        const std::vector<int64_t> sizes = odd_sizes(count, 7);
        const std::vector<Tensor> x = make_list(sizes, -3, 3, 500);
        const std::vector<Tensor> xc = to_cuda(x);
        const Tensor n = ops::multi_tensor_l2_norm(x), nc = ops::multi_tensor_l2_norm(xc);
        REQUIRE(nc.is_cuda());
        REQUIRE_CLOSE(nc, n, Tolerance(1e-6, 1e-6));
        REQUIRE(bitwise_equal(ops::multi_tensor_l2_norm(xc), nc));  // deterministic

        std::vector<Tensor> g = clone_list(x), gc = to_cuda(x);
        const double max_norm = n.item_double() / 3;
        REQUIRE_CLOSE(ops::clip_grad_norm_(gc, max_norm), ops::clip_grad_norm_(g, max_norm), Tolerance(1e-6, 1e-6));
        require_lists_close(gc, g, Tolerance(1e-6, 1e-6));

        std::vector<Tensor> u = clone_list(x), uc = to_cuda(x);
        Tensor f = zeros({}, DType::F32), fc = zeros({}, {DType::F32, Device::cuda()});
        const Tensor inv = full({}, 0.5, DType::F32);
        ops::non_finite_check_and_unscale_(u, f, inv);
        ops::non_finite_check_and_unscale_(uc, fc, inv.cuda());
        REQUIRE(fc.item<float>() == 0.0f);
        require_lists_close(uc, u, kExact);
        uc.back().narrow(0, uc.back().numel() - 1, 1).fill_(NAN);  // the very last element
        ops::non_finite_check_and_unscale_(uc, fc, Tensor());
        REQUIRE(fc.item<float>() == 1.0f);
    }
    Tensor scale = full({}, 1024.0, {DType::F32, Device::cuda()});
    Tensor tracker = zeros({}, {DType::I32, Device::cuda()});
    Tensor found = zeros({}, {DType::F32, Device::cuda()});
    ops::update_scale_(scale, tracker, found, 2.0, 0.5, 2);
    ops::update_scale_(scale, tracker, found, 2.0, 0.5, 2);
    REQUIRE(scale.item<float>() == 2048.0f);
    found.fill_(1.0);
    ops::update_scale_(scale, tracker, found, 2.0, 0.5, 2);
    REQUIRE(scale.item<float>() == 1024.0f);
    REQUIRE(tracker.item<int32_t>() == 0);
}

TEST_CASE("optim cuda: AdamW + GradScaler + clipping, CUDA vs CPU trajectory", "[cuda][optim][amp]") {
    const std::vector<int64_t> sizes = odd_sizes(20, 8);
    auto run = [&](Device d) {
        std::vector<autograd::Variable> params;
        for (size_t i = 0; i < sizes.size(); ++i)
            params.emplace_back(test::random_tensor({sizes[i]}, DType::F32, -1, 1, 900 + uint32_t(i)).to(d), true);
        nn::AdamW opt(params, {1e-2, 0.9, 0.999, 1e-8, 1e-2, false});
        nn::GradScaler scaler({4096.0, 2.0, 0.5, 3, true});
        for (int it = 0; it < 8; ++it) {
            for (size_t i = 0; i < params.size(); ++i) {
                Tensor g = test::random_tensor({sizes[i]}, DType::F32, -1, 1, 50 * uint32_t(it) + uint32_t(i)).to(d);
                if (it == 4 && i == 3) g.narrow(0, 0, 1).fill_(INFINITY);
                params[i].set_grad(scaler.scale(g));
            }
            if (it % 2 == 0) {
                scaler.unscale_(opt);
                nn::clip_grad_norm_(params, 5.0);
            }
            scaler.step(opt);
            scaler.update();
        }
        REQUIRE(scaler.get_scale() == 8192.0);  // 4096: grew after it 2, backed off at 4, grew after 7
        REQUIRE(opt.param_step(0, 0) == 7);
        std::vector<Tensor> out;
        for (const auto& p : params) out.push_back(p.data());
        return out;
    };
    require_lists_close(run(Device::cuda()), run(Device::cpu()), kTol);
}

TEST_CASE("optim cuda: bad input", "[cuda][optim]") {
    ops::OptimStepArgs a;
    a.params = {zeros({4}, {DType::F64, Device::cuda()})};
    a.grads = {zeros({4}, {DType::F64, Device::cuda()})};
    a.steps = {1};
    REQUIRE_THROWS_WITH(ops::sgd_step_(a, {}, {}), Catch::Contains("f32 parameters"));
    a.params = {zeros({4}, Device::cuda())};
    a.grads = {zeros({4})};
    REQUIRE_THROWS_WITH(ops::sgd_step_(a, {}, {}), Catch::Contains("grads[0] is on cpu, expected cuda:0"));
    a.grads = {zeros({4}, Device::cuda())};
    a.found_inf = zeros({});
    REQUIRE_THROWS_WITH(ops::sgd_step_(a, {}, {}), Catch::Contains("found_inf is on cpu, expected cuda:0"));
    std::vector<Tensor> h = {zeros({3}, {DType::F16, Device::cuda()})};
    REQUIRE_THROWS_WITH(ops::multi_tensor_l2_norm(h), Catch::Contains("take f32 tensors"));
}
