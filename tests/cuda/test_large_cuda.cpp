// Tensors past 2^31 elements on CUDA: every index, offset and grid computation must stay 64-bit
// (docs/conventions.md, "Sizes"). Each kernel family is run once over 2^31 + 4096 f16 elements and
// checked at positions past 2^31, against values known in closed form or computed by the CPU on a
// small slice. Needs about 25 GB of device memory; smaller devices skip it with a warning.
#include <catch2/catch.hpp>

#include <cstring>

#include "core/device.h"
#include "core/tensor.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"
#include "kernels/reduce/reduce.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

constexpr int64_t kRows = (int64_t(1) << 19) + 1, kCols = 4096;
constexpr int64_t kN = kRows * kCols;  // 2^31 + 4096
constexpr int64_t kHot = kN - 3;       // the one nonzero element: row kRows - 1, column 4093

bool enough_memory() {
    if (cuda_device_info(0).total_memory >= (int64_t(32) << 30)) return true;
    WARN("skipped: needs a device with 32 GiB of memory");
    return false;
}

double at(const Tensor& t, int64_t i) { return t.narrow(0, i, 1).cpu().get_double(0); }

}  // namespace

TEST_CASE("cuda large: fill, copy, elementwise and reductions past 2^31 elements", "[cuda][large]") {
    if (!enough_memory()) return;
    REQUIRE(kN > (int64_t(1) << 31));
    Tensor x = zeros({kN}, {DType::F16, Device::cuda()});
    x.narrow(0, kHot, 1).fill_(7.0);
    CHECK(at(x, kHot) == 7.0);
    CHECK(at(x, kHot - 1) == 0.0);

    // Reductions: row path (one chunk per block), multi-chunk finish, and the column path.
    CHECK(ops::argmax(x).item<int64_t>() == kHot);
    CHECK(ops::max(x).item<float>() == 7.0f);
    CHECK(ops::mean(ops::add(x, 1.0)).item<float>() == Approx(1.0 + 7.0 / double(kN)).epsilon(1e-3));
    const Tensor m = x.view({kRows, kCols});
    const Tensor row_sums = ops::sum(m, {1});  // (kRows): outputs past 2^19, inputs past 2^31
    CHECK(at(row_sums, kRows - 1) == 7.0);
    CHECK(at(row_sums, kRows - 2) == 0.0);
    const Tensor col_sums = ops::sum(m, {0});  // (kCols): each thread walks 2^19 rows of stride 4096
    CHECK(at(col_sums, 4093) == 7.0);
    CHECK(at(col_sums, 4092) == 0.0);

    // Elementwise: the packed path over everything, a scalar-offset view past 2^31, a strided view.
    const Tensor y = ops::mul(x, 2.0);
    CHECK(at(y, kHot) == 14.0);
    const Tensor tail = x.narrow(0, kN - 4096, 4096);
    REQUIRE_CLOSE(ops::add(tail, tail), ops::add(tail.cpu(), tail.cpu()), test::Tolerance({0, 0}));
    const Tensor odd = x.narrow(0, kN - 4095, 4095);  // 2 bytes off 16-byte alignment: scalar path
    REQUIRE_CLOSE(ops::relu(odd), ops::relu(odd.cpu()), test::Tolerance({0, 0}));

    // Copy: a transpose with source offsets past 2^31, and a cast.
    const Tensor mt = m.t().contiguous();  // (kCols, kRows)
    CHECK(at(mt.select(0, 4093), kRows - 1) == 7.0);
    const Tensor xf = x.to(DType::F32);
    CHECK(at(xf, kHot) == 7.0);
}

TEST_CASE("cuda large: random values past 2^31 match the CPU's", "[cuda][large][random]") {
    if (!enough_memory()) return;
    // Element i draws from counter offset + i / 4, so the CPU regenerates the last 4096 elements
    // alone by starting its generator (kN - 4096) / 4 counters later (kN - 4096 is a multiple of 4).
    Generator gd(11), gc(11);
    gd.set_offset(100);
    gc.set_offset(100 + uint64_t(kN - 4096) / 4);
    const Tensor d = rand({kN}, {DType::F16, Device::cuda()}, &gd);
    const Tensor c = rand({4096}, DType::F16, &gc);
    const Tensor last = d.narrow(0, kN - 4096, 4096).cpu();
    CHECK(std::memcmp(last.data_ptr(), c.data_ptr(), size_t(c.nbytes())) == 0);
}
