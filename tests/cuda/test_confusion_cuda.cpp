// CUDA confusion-matrix update against the CPU oracle: exact equality (integer counts) over odd
// shapes, C = 2, 11, 19, 150, 256 (the shared-memory and the global-atomics paths), logits in
// f32/f16/bf16 and predicted labels, every target dtype, accumulation into a non-zero matrix,
// invalid labels (checked and unchecked), merge, and MetricAccumulator on the device.
#include <catch2/catch.hpp>

#include <random>

#include "kernels/ops.h"
#include "seg/metrics/metrics.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

Tensor random_labels(const Shape& s, int64_t c, int64_t ignore, double ignore_frac, uint32_t seed,
                     DType dt = DType::I64) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int64_t> cls(0, c - 1);
    std::uniform_real_distribution<double> u(0, 1);
    Tensor t = empty(s, {DType::I64});
    for (int64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = u(rng) < ignore_frac ? ignore : cls(rng);
    return t.to(dt);
}

// Spatially coherent labels (runs along rows), the case the warp aggregation is built for.
Tensor blocky_labels(const Shape& s, int64_t c, uint32_t seed) {
    std::mt19937 rng(seed);
    Tensor t = empty(s, {DType::I64});
    int64_t cur = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
        if (rng() % 40 == 0) cur = int64_t(rng() % uint32_t(c));
        t.data<int64_t>()[i] = cur;
    }
    return t;
}

bool same(const Tensor& a, const Tensor& b) { return test::compare(a, b, {0, 0}).empty(); }

}  // namespace

TEST_CASE("confusion cuda equals the CPU", "[cuda][confusion]") {
    const int64_t c = GENERATE(2, 11, 19, 150, 256);
    const int64_t ignore = c == 256 ? -1 : 255;
    ops::ConfusionOptions opt;
    opt.ignore_index = ignore;
    for (const auto& [n, h, w] :
         {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {3, 17, 29}, {2, 33, 65}, {1, 127, 257}}) {
        const Shape ls{n, c, h, w}, ts{n, h, w};
        for (DType tdt : {DType::I64, DType::I32, DType::U8}) {
            if (tdt == DType::U8 && c == 256) continue;  // ignore -1 is not a u8 value; covered below
            const Tensor target = random_labels(ts, c, ignore, 0.1, uint32_t(c + h), tdt);
            // accumulate into a non-zero matrix
            const Tensor start = randint(0, 1000, {c, c});
            for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
                INFO("C " << c << " shape " << shape_str(ls) << " " << dtype_name(dt) << " target " << dtype_name(tdt));
                const Tensor logits = test::random_tensor(ls, dt, -3, 3, uint32_t(7 + h));
                Tensor cpu = start.clone(), gpu = start.cuda();
                ops::confusion_matrix_update(cpu, logits, target, opt);
                ops::confusion_matrix_update(gpu, logits.cuda(), target.cuda(), opt);
                ops::confusion_matrix_update(cpu, logits, target, opt);
                ops::confusion_matrix_update(gpu, logits.cuda(), target.cuda(), opt);
                REQUIRE(same(gpu, cpu));
            }
            for (DType pdt : {DType::I64, DType::I32, DType::U8}) {
                if (pdt == DType::U8 && c == 256) continue;
                INFO("C " << c << " shape " << shape_str(ts) << " pred " << dtype_name(pdt) << " target "
                          << dtype_name(tdt));
                const Tensor pred = random_labels(ts, c, 0, 0.0, uint32_t(3 + h), pdt);
                Tensor cpu = start.clone(), gpu = start.cuda();
                ops::confusion_matrix_update(cpu, pred, target, opt);
                ops::confusion_matrix_update(gpu, pred.cuda(), target.cuda(), opt);
                REQUIRE(same(gpu, cpu));
            }
        }
    }
}

TEST_CASE("confusion cuda: 256 classes with u8 labels, coherent labels, large batch", "[cuda][confusion]") {
    const Tensor t8 = random_labels({2, 45, 61}, 256, 0, 0.0, 1, DType::U8);
    const Tensor logits = test::random_tensor({2, 256, 45, 61}, DType::BF16, -1, 1, 2);
    REQUIRE(same(ops::confusion_matrix(logits.cuda(), t8.cuda(), 256), ops::confusion_matrix(logits, t8, 256)));
    for (int64_t c : {19, 150, 256}) {
        INFO("C " << c);
        const Tensor target = blocky_labels({4, 128, 256}, c, 5);
        const Tensor pred = blocky_labels({4, 128, 256}, c, 6);
        REQUIRE(same(ops::confusion_matrix(pred.cuda(), target.cuda(), c), ops::confusion_matrix(pred, target, c)));
        // argmax of one-hot-ish logits built from pred
        const Tensor lg = test::random_tensor({1, c, 64, 96}, DType::F16, -1, 1, 8);
        const Tensor tg = blocky_labels({1, 64, 96}, c, 9);
        REQUIRE(same(ops::confusion_matrix(lg.cuda(), tg.cuda(), c), ops::confusion_matrix(lg, tg, c)));
    }
}

TEST_CASE("confusion cuda: the naive benchmark baseline agrees", "[cuda][confusion]") {
    for (int64_t c : {19, 256}) {
        const Tensor pred = random_labels({3, 41, 77}, c, 0, 0.0, 31);
        const Tensor target = random_labels({3, 41, 77}, c, 255, 0.1, 32);
        Tensor conf = zeros({c, c}, {DType::I64, Device::cuda()});
        kernels::ConfusionParams p;
        p.n = 3;
        p.c = c;
        p.hw = 41 * 77;
        p.ignore_index = 255;
        const Tensor pg = pred.cuda(), tg = target.cuda();
        kernels::confusion_naive_from_labels_cuda(p, pg.data<int64_t>(), tg.data<int64_t>(), conf.data<int64_t>(),
                                                  current_stream());
        REQUIRE(same(conf, ops::confusion_matrix(pred, target, c)));
    }
}

TEST_CASE("confusion cuda: non-contiguous inputs and NaN logits", "[cuda][confusion]") {
    const Tensor nhwc = test::random_tensor({2, 9, 11, 19}, DType::F32, -2, 2, 21);
    Tensor logits = nhwc.permute({0, 3, 1, 2});
    // sprinkle NaNs
    Tensor l = logits.contiguous();
    for (int64_t i = 0; i < l.numel(); i += 37) l.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
    const Tensor target = random_labels({2, 11, 9}, 19, 255, 0.1, 22).transpose(1, 2);
    REQUIRE(same(ops::confusion_matrix(logits.cuda(), target.cuda(), 19), ops::confusion_matrix(logits, target, 19)));
    REQUIRE(same(ops::confusion_matrix(l.cuda(), target.cuda(), 19), ops::confusion_matrix(l, target, 19)));
}

TEST_CASE("confusion cuda: invalid labels", "[cuda][confusion]") {
    const Tensor logits = test::random_tensor({1, 3, 2, 3}, DType::F32, -1, 1, 4).cuda();
    const Tensor target = from_vector<int64_t>({0, 1, 7, 2, 255, -3}, {1, 2, 3}).cuda();
    Tensor conf = zeros({3, 3}, {DType::I64, Device::cuda()});
    REQUIRE_THROWS_WITH(
        ops::confusion_matrix_update(conf, logits, target),
        Catch::Contains("ground-truth label 7 at pixel (n=0, h=0, w=2)") && Catch::Contains("2 such pixel(s)"));
    ops::ConfusionOptions opt;
    opt.check_labels = false;
    Tensor status = ops::confusion_status(Device::cuda());
    Tensor conf2 = zeros({3, 3}, {DType::I64, Device::cuda()});
    ops::confusion_matrix_update(conf2, logits, target, opt, status);
    const Tensor s = status.cpu();
    REQUIRE(s.data<int64_t>()[kernels::kBadTargetCount] == 2);
    REQUIRE(s.data<int64_t>()[kernels::kBadTargetFirst] == 2);
    REQUIRE(s.data<int64_t>()[kernels::kBadPredCount] == 0);
    const Tensor pred = from_vector<int64_t>({0, 3, 1, 1, 9, 0}, {1, 2, 3}).cuda();
    const Tensor ok = from_vector<int64_t>({0, 1, 2, 2, 255, 0}, {1, 2, 3}).cuda();
    REQUIRE_THROWS_WITH(ops::confusion_matrix(pred, ok, 3),
                        Catch::Contains("predicted label 3 at pixel (n=0, h=0, w=1)"));
}

TEST_CASE("confusion cuda: merge and MetricAccumulator on the device", "[cuda][confusion][metrics]") {
    const int64_t c = 19;
    seg::MetricAccumulator g0(c, 255, Device::cuda()), g1(c, 255, Device::cuda()), host(c);
    for (uint32_t b = 0; b < 3; ++b) {
        const Tensor logits = test::random_tensor({2, c, 37, 41}, DType::F16, -2, 2, 60 + b);
        const Tensor target = random_labels({2, 37, 41}, c, 255, 0.2, 70 + b);
        (b == 1 ? g1 : g0).update(logits.cuda(), target.cuda());
        host.update(logits, target);
    }
    g0.merge(g1);
    REQUIRE(g0.confusion().is_cuda());
    REQUIRE(same(g0.confusion(), host.confusion()));
    REQUIRE(g0.compute().miou == host.compute().miou);
    // merging a host accumulator into a device one
    seg::MetricAccumulator g2(c, 255, Device::cuda());
    g2.merge(host);
    REQUIRE(same(g2.confusion(), host.confusion()));
}
