#include "tests/test_util.h"

#include <cmath>
#include <filesystem>
#include <cstdlib>
#include <limits>
#include <random>
#include <sstream>

#include "core/allocator.h"
#include "core/stream.h"

namespace segcore::test {

Tolerance tolerance_for(DType t) {
    switch (t) {
        case DType::F64: return {1e-12, 1e-10};
        case DType::F32: return {1e-5, 1e-5};
        case DType::F16: return {1e-3, 2e-3};
        case DType::BF16: return {1e-2, 1.6e-2};
        default: return {0, 0};
    }
}

std::string compare(const Tensor& actual, const Tensor& expected, Tolerance tol) {
    if (actual.shape() != expected.shape())
        return "shape mismatch: actual " + shape_str(actual.shape()) + ", expected " + shape_str(expected.shape());
    const Tensor a = actual.cpu().to(DType::F64).contiguous();
    const Tensor b = expected.cpu().to(DType::F64).contiguous();
    const double* pa = a.data<double>();
    const double* pb = b.data<double>();
    int64_t worst = -1, bad = 0;
    double worst_excess = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
        const double x = pa[i], y = pb[i];
        if (std::isnan(y) && std::isnan(x)) continue;
        if (std::isinf(y) && x == y) continue;
        const double lim = tol.atol + tol.rtol * std::abs(y);
        const double err = std::abs(x - y);
        // An infinite expected value makes lim infinite, so err <= lim would accept any x (even
        // -inf for +inf): an infinity only matches itself, which the line above lets through.
        if (std::isinf(y) || !(err <= lim)) {
            ++bad;
            const double excess =
                std::isnan(err) || std::isinf(y) ? std::numeric_limits<double>::infinity() : err - lim;
            if (worst < 0 || excess > worst_excess) { worst = i; worst_excess = excess; }
        }
    }
    if (bad == 0) return "";
    std::ostringstream os;
    os.precision(10);
    os << bad << " of " << a.numel() << " elements differ; worst at flat index " << worst << ": actual " << pa[worst]
       << ", expected " << pb[worst] << " (atol " << tol.atol << ", rtol " << tol.rtol << "), shape "
       << shape_str(a.shape());
    return os.str();
}

void poison(Tensor& t) {
    if (is_floating(t.dtype())) t.fill_(std::numeric_limits<double>::quiet_NaN());
    else if (t.dtype() == DType::Bool) t.fill_(1);
    else t.fill_(t.dtype() == DType::U8 ? 0xAB : -777);
}

const void* poison_next_cuda_output(const Shape& shape, DType t) {
    device_synchronize();
    cuda_empty_cache(0);
    Tensor p = empty(shape, {t, Device::cuda()});
    poison(p);
    device_synchronize();
    return p.data_ptr();
}

Tensor random_tensor(const Shape& shape, DType t, double lo, double hi, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<double> v(size_t(shape_numel(shape)));
    for (double& x : v) x = dist(rng);
    return from_vector<double>(v, shape).to(t);
}

std::vector<Shape> odd_shapes() {
    return {{1}, {1, 1}, {7}, {17, 34}, {3, 1, 5}, {2, 3, 5, 7}, {1, 13, 1, 31}, {33, 65}, {2, 5, 31, 29}, {257, 3}};
}

std::string source_dir() { return SEGCORE_SOURCE_DIR; }

std::string golden_dir() {
    if (const char* env = std::getenv("SEGCORE_GOLDEN_DIR")) return env;
    return (std::filesystem::path(source_dir()) / "tests" / "golden").string();
}

std::string shared_dir() {
    if (const char* env = std::getenv("SEGCORE_SHARED")) return env;
    return "../shared";
}

}  // namespace segcore::test
