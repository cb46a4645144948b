#pragma once
// Helpers shared by the test suites: tolerances per dtype, closeness checks that report the
// worst element, poisoning outputs, and random odd shapes.
#include <string>
#include <vector>

#include "core/tensor.h"

namespace segcore::test {

struct Tolerance {
    double atol, rtol;
};
// Tolerances for comparing a result computed in `t` against an f32/f64 reference.
Tolerance tolerance_for(DType t);

// Empty string when every element satisfies |a - b| <= atol + rtol * |b| (NaN only matches NaN);
// otherwise a description of the worst element. Tensors may be on any device and dtype.
std::string compare(const Tensor& actual, const Tensor& expected, Tolerance tol);

// Fills a tensor with NaN (floats) or a sentinel (integers) so an output a kernel forgets to write is caught.
void poison(Tensor& t);

// CUDA: the output of the next op comes from the caching allocator, so hand it a NaN-filled block
// of the same size first and an output element the kernel forgets to write shows up as NaN. The
// cache is emptied first: the allocator takes the first cached block of the best size, and without
// this it would hand out an older block (holding an earlier, valid result). Returns the poisoned
// block so the caller can check the output really landed on it.
const void* poison_next_cuda_output(const Shape& shape, DType t);

// Uniform values in [lo, hi) drawn in f64 (std::mt19937, independent of segcore's RNG) and
// converted to `t`, so the inputs of a 16-bit test are exactly representable.
Tensor random_tensor(const Shape& shape, DType t, double lo, double hi, uint32_t seed);

// Shapes chosen to break kernels: primes, 1x1, sizes around warp and block multiples.
std::vector<Shape> odd_shapes();

// The checkout this build came from (CMake's source dir).
std::string source_dir();

// tests/golden/ in the source tree (SEGCORE_GOLDEN_DIR overrides): the committed PyTorch fixtures.
std::string golden_dir();

// The shared datasets folder (../shared next to the checkout; SEGCORE_SHARED overrides).
std::string shared_dir();

}  // namespace segcore::test

// REQUIRE_CLOSE(actual, expected, tol): fails with the worst element when they differ.
#define REQUIRE_CLOSE(actual, expected, tol)                                             \
    do {                                                                                 \
        const std::string segcore_diff_ = ::segcore::test::compare(actual, expected, tol); \
        INFO(segcore_diff_);                                                             \
        REQUIRE(segcore_diff_.empty());                                                  \
    } while (0)
