// kernels/common/vec_math.h: the vectorisable f32 exp, tanh and erf against double-precision libm,
// in ulps, over sweeps of the whole float range plus dense sweeps where the approximations are
// weakest (subnormal results of exp, the erf branch point, small tanh arguments); the special
// values; and that the CPU kernels (unary ops, softmax) compute exactly these functions.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/common/vec_math.h"
#include "kernels/elementwise/operators.h"
#include "kernels/elementwise/unary.h"
#include "kernels/softmax/softmax.h"
#include "tests/test_util.h"

using namespace segcore;
namespace vec = segcore::kernels::vec;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// |got - want| in units of the float spacing at want (2^-149 below the normal range). A result on
// the wrong side of the overflow threshold counts as a huge error.
double ulp_error(float got, double want) {
    if (std::isnan(want)) return std::isnan(got) ? 0.0 : 1e30;
    const float want_f = float(want);
    if (std::isinf(want_f) || std::isinf(got)) return got == want_f ? 0.0 : 1e30;
    int e = 0;
    std::frexp(want, &e);  // want = f * 2^e, f in [0.5, 1)
    const double ulp = std::ldexp(1.0, std::max(e - 24, -149));
    return std::fabs(double(got) - want) / ulp;
}

struct Worst {
    double ulps = 0;
    float x = 0;
    void update(float xv, double u) {
        if (u > ulps) ulps = u, x = xv;
    }
};

// Applies f over a batch with a plain loop (which GCC vectorises) and checks every value.
template <typename F, typename R>
void check_batch(const std::vector<float>& xs, F f, R ref, Worst& worst) {
    std::vector<float> ys(xs.size());
    for (size_t i = 0; i < xs.size(); ++i) ys[i] = f(xs[i]);
    for (size_t i = 0; i < xs.size(); ++i) worst.update(xs[i], ulp_error(ys[i], ref(double(xs[i]))));
}

// Every `step`-th bit pattern of [lo, hi) (as unsigned bits of non-negative floats), both signs.
template <typename F, typename R>
Worst sweep(F f, R ref, uint32_t lo, uint32_t hi, uint32_t step) {
    Worst worst;
    std::vector<float> xs;
    for (uint64_t b = lo; b < hi; b += step) {
        xs.push_back(std::bit_cast<float>(uint32_t(b)));
        xs.push_back(std::bit_cast<float>(uint32_t(b) | 0x80000000u));
        if (xs.size() >= (1u << 16)) {
            check_batch(xs, f, ref, worst);
            xs.clear();
        }
    }
    check_batch(xs, f, ref, worst);
    return worst;
}

uint32_t bits(float f) { return std::bit_cast<uint32_t>(f); }

auto exp_f = [](float x) { return vec::exp_f32(x); };
auto tanh_f = [](float x) { return vec::tanh_f32(x); };
auto erf_f = [](float x) { return vec::erf_f32(x); };
auto exp_ref = [](double x) { return std::exp(x); };
auto tanh_ref = [](double x) { return std::tanh(x); };
auto erf_ref = [](double x) { return std::erf(x); };

}  // namespace

TEST_CASE("vec_math: exp_f32 is within 1 ulp of exp over the float range", "[vec_math]") {
    // Every 257th float (all exponents, both signs, inf and NaN included), then every float whose
    // result is subnormal or near the overflow threshold.
    Worst w = sweep(exp_f, exp_ref, 0, 0x7fffffffu, 257);
    INFO("worst " << w.ulps << " ulp at x = " << w.x);
    CHECK(w.ulps <= 1.0);
    w = sweep(exp_f, exp_ref, bits(87.0f), bits(104.5f), 1);
    INFO("worst " << w.ulps << " ulp at x = " << w.x);
    CHECK(w.ulps <= 1.0);
}

TEST_CASE("vec_math: exp_f32 special values", "[vec_math]") {
    CHECK(vec::exp_f32(0.0f) == 1.0f);
    CHECK(vec::exp_f32(-0.0f) == 1.0f);
    CHECK(vec::exp_f32(kInf) == kInf);
    CHECK(vec::exp_f32(-kInf) == 0.0f);
    CHECK(std::isnan(vec::exp_f32(std::numeric_limits<float>::quiet_NaN())));
    CHECK(std::isnan(vec::exp_f32(-std::numeric_limits<float>::quiet_NaN())));
    CHECK(ulp_error(vec::exp_f32(88.72283f), std::exp(double(88.72283f))) <= 1.0);  // just below FLT_MAX
    CHECK(vec::exp_f32(88.7229f) == kInf);                                          // just above: overflow
    CHECK(vec::exp_f32(1000.0f) == kInf);
    CHECK(ulp_error(vec::exp_f32(-103.0f), std::exp(double(-103.0f))) <= 1.0);  // subnormal result
    CHECK(vec::exp_f32(-103.28f) > 0.0f);
    CHECK(vec::exp_f32(-104.0f) == 0.0f);  // below half the smallest subnormal
    CHECK(vec::exp_f32(-1e30f) == 0.0f);
    CHECK(ulp_error(vec::exp_f32(1.0f), std::exp(double(1.0f))) <= 1.0);
}

TEST_CASE("vec_math: tanh_f32 is within 2.5 ulp of tanh", "[vec_math]") {
    Worst w = sweep(tanh_f, tanh_ref, 0, 0x7fffffffu, 257);
    INFO("worst " << w.ulps << " ulp at x = " << w.x);
    CHECK(w.ulps <= 2.5);
    w = sweep(tanh_f, tanh_ref, bits(1e-3f), bits(1.0f), 7);  // where e / (e + 2) rounds most
    INFO("worst " << w.ulps << " ulp at x = " << w.x);
    CHECK(w.ulps <= 2.5);
    CHECK(vec::tanh_f32(0.0f) == 0.0f);
    CHECK(std::signbit(vec::tanh_f32(-0.0f)));
    CHECK(vec::tanh_f32(kInf) == 1.0f);
    CHECK(vec::tanh_f32(-kInf) == -1.0f);
    CHECK(vec::tanh_f32(1e-30f) == 1e-30f);
    CHECK(std::isnan(vec::tanh_f32(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("vec_math: erf_f32 is within 1.5 ulp of erf", "[vec_math]") {
    Worst w = sweep(erf_f, erf_ref, 0, 0x7fffffffu, 257);
    INFO("worst " << w.ulps << " ulp at x = " << w.x);
    CHECK(w.ulps <= 1.5);
    // Every float within 2^17 ulps of the branch point 0.921875, and around where erf reaches 1.
    w = sweep(erf_f, erf_ref, bits(0.921875f) - (1u << 17), bits(0.921875f) + (1u << 17), 1);
    INFO("worst " << w.ulps << " ulp at x = " << w.x);
    CHECK(w.ulps <= 1.5);
    w = sweep(erf_f, erf_ref, bits(3.5f), bits(4.5f), 3);
    INFO("worst " << w.ulps << " ulp at x = " << w.x);
    CHECK(w.ulps <= 1.5);
    CHECK(vec::erf_f32(0.0f) == 0.0f);
    CHECK(std::signbit(vec::erf_f32(-0.0f)));
    CHECK(vec::erf_f32(kInf) == 1.0f);
    CHECK(vec::erf_f32(-kInf) == -1.0f);
    CHECK(ulp_error(vec::erf_f32(1e-30f), std::erf(double(1e-30f))) <= 1.5);
    CHECK(std::isnan(vec::erf_f32(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("vec_math: the CPU kernels compute exactly these functions, in every lane", "[vec_math]") {
    // 1000 values (vector body plus a scalar tail) spanning the interesting range, as a tensor.
    std::vector<float> v(1000);
    for (size_t i = 0; i < v.size(); ++i) v[i] = -110.0f + 200.0f * float(i) / float(v.size()) + 0.0137f * float(i % 7);
    v[3] = std::numeric_limits<float>::quiet_NaN();
    v[500] = kInf;
    v[501] = -kInf;
    const Tensor x = from_vector<float>(v, {int64_t(v.size())});
    const Tensor e = ops::exp(x), t = ops::tanh(x), s = ops::sigmoid(x);
    for (size_t i = 0; i < v.size(); ++i) {
        INFO("x = " << v[i]);
        const float ve = vec::exp_f32(v[i]), vt = vec::tanh_f32(v[i]), vs = 1.0f / (1.0f + vec::exp_f32(-v[i]));
        CHECK(bits(e.data<float>()[i]) == bits(ve));
        CHECK(bits(t.data<float>()[i]) == bits(vt));
        CHECK(bits(s.data<float>()[i]) == bits(vs));
    }
    // Softmax over dim 1 of NCHW: every value is exp(x - max) / sum within f32 rounding.
    const Tensor logits =
        from_vector<float>(std::vector<float>(v.begin(), v.begin() + 5 * 2 * 9 * 11), {1, 5 * 2, 9, 11}) * 0.05;
    const Tensor y = ops::softmax(logits, 1);
    const Tensor ref = ops::softmax(logits.to(DType::F64), 1);
    REQUIRE_CLOSE(y, ref, test::tolerance_for(DType::F32));
}
