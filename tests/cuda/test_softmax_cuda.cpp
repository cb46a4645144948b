// CUDA softmax / log_softmax, forward and backward, against the CPU oracle.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "core/allocator.h"
#include "core/stream.h"
#include "kernels/softmax/softmax.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::Tolerance;
using segcore::test::tolerance_for;

namespace {

void check(const Tensor& x, const Tensor& dy, int64_t d, DType dt) {
    INFO("shape " << shape_str(x.shape()) << " dtype " << dtype_name(dt) << " dim " << d);
    const Tensor x32 = x.to(DType::F32), dy32 = dy.to(DType::F32);
    const Tensor xc = x.cuda(), dyc = dy.cuda();
    const Tolerance tol = tolerance_for(dt);
    for (bool log : {false, true}) {
        INFO("log " << log);
        const Tensor ref = log ? ops::log_softmax(x32, d) : ops::softmax(x32, d);
        const void* poisoned = test::poison_next_cuda_output(x.shape(), dt);
        const Tensor y = log ? ops::log_softmax(xc, d) : ops::softmax(xc, d);
        REQUIRE(y.dtype() == dt);
        REQUIRE(y.data_ptr() == poisoned);  // else the poison proves nothing
        REQUIRE_CLOSE(y, ref, tol);
        // backward from the same (rounded) y on both sides
        const Tensor y_cpu = y.cpu().to(DType::F32);
        const Tensor gref = log ? ops::log_softmax_backward(dy32, y_cpu, d) : ops::softmax_backward(dy32, y_cpu, d);
        const void* gpoisoned = test::poison_next_cuda_output(x.shape(), dt);
        const Tensor g = log ? ops::log_softmax_backward(dyc, y, d) : ops::softmax_backward(dyc, y, d);
        REQUIRE(g.data_ptr() == gpoisoned);
        Tolerance gtol = tol;
        gtol.atol *= 4;  // dy * sum over the row: rounding of dy and y adds up
        REQUIRE_CLOSE(g, gref, gtol);
    }
}

}  // namespace

TEST_CASE("softmax cuda: matches the CPU over odd shapes, every dim and dtype", "[cuda][softmax]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    Generator gen(50);
    for (const Shape& shape : test::odd_shapes()) {
        const Tensor x = randn(shape, dt, &gen), dy = randn(shape, dt, &gen);
        for (int64_t d = -x.dim(); d < x.dim(); ++d) check(x, dy, d, dt);
    }
}

TEST_CASE("softmax cuda: segmentation shapes, long rows, strided input", "[cuda][softmax]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    Generator gen(51);
    for (const Shape& shape : {Shape{2, 19, 33, 47}, Shape{3, 150, 7, 9}}) {
        const Tensor x = randn(shape, dt, &gen), dy = randn(shape, dt, &gen);
        check(x, dy, 1, dt);   // channels of NCHW logits: thread per pixel
        check(x, dy, -1, dt);  // last dim: warp per row
    }
    const Tensor x = randn({5, 3001}, dt, &gen), dy = randn({5, 3001}, dt, &gen);
    check(x, dy, 1, dt);  // rows longer than kWarpRowMax: block per row
    const Tensor big = randn({2, 40, 9}, dt, &gen).transpose(0, 2);
    check(big, randn(big.shape(), dt, &gen), 1, dt);
    // huge logits stay finite
    const Tensor h = from_vector<float>({1000, 999, -1000, 88.8f}, {2, 2}).cuda().to(dt);
    const Tensor s = ops::softmax(h, 1).cpu();
    for (int64_t i = 0; i < 4; ++i) REQUIRE(std::isfinite(s.get_double(i)));
}

TEST_CASE("softmax cuda: bitwise identical run to run; f64 errors", "[cuda][softmax]") {
    Generator gen(52);
    const Tensor x = randn({8, 19, 64, 64}, {DType::F32, Device::cuda()}, &gen);
    const Tensor a = ops::log_softmax(x, 1).cpu(), b = ops::log_softmax(x, 1).cpu();
    REQUIRE(std::memcmp(a.data_ptr(), b.data_ptr(), size_t(a.nbytes())) == 0);
    REQUIRE_THROWS_WITH(ops::softmax(ones({2, 3}, {DType::F64, Device::cuda()}), 1), Catch::Contains("f64"));
}
