// Transposed copies (core/copy_cpu.cpp's tiled path): large permutes made contiguous, copies into
// permuted views, 2-D transposes with sizes that are not multiples of the 8x8 register blocks or
// of the tiles, every element size and a cast on the way, all against the element-by-element
// definition dst[index] = src[index] computed from the views' own strides.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/tensor.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

// Element offsets (in elements) of every logical position of t, in row-major order.
std::vector<int64_t> logical_offsets(const Tensor& t) {
    std::vector<int64_t> offs(size_t(t.numel()));
    const Shape& shape = t.shape();
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t k = 0; k < t.numel(); ++k) {
        int64_t off = 0;
        for (size_t d = 0; d < shape.size(); ++d) off += idx[d] * t.strides()[d];
        offs[size_t(k)] = off;
        for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {  // odometer
            if (++idx[size_t(d)] < shape[size_t(d)]) break;
            idx[size_t(d)] = 0;
        }
    }
    return offs;
}

// Checks dst == src element by element, both read through their strides, compared as bytes of
// the destination dtype after converting src with a one-element copy (so casts are covered too).
void require_same_elements(const Tensor& dst, const Tensor& src) {
    REQUIRE(dst.shape() == src.shape());
    const std::vector<int64_t> od = logical_offsets(dst), os = logical_offsets(src);
    const size_t es = dst.element_size();
    const char* d = static_cast<const char*>(dst.data_ptr());
    int64_t bad = 0;
    if (dst.dtype() == src.dtype()) {
        const char* s = static_cast<const char*>(src.data_ptr());
        for (size_t k = 0; k < od.size(); ++k)
            bad += std::memcmp(d + od[k] * int64_t(es), s + os[k] * int64_t(es), es) != 0;
    } else {
        for (size_t k = 0; k < od.size(); ++k) {
            const double want = src.get_double(int64_t(k));  // logical position k
            const Tensor one = full({1}, want, src.dtype()).to(dst.dtype());
            bad += std::memcmp(d + od[k] * int64_t(es), one.data_ptr(), es) != 0;
        }
    }
    CHECK(bad == 0);
}

Tensor random_of(const Shape& shape, DType t, uint64_t seed) {
    Generator gen(seed);
    Tensor r = empty(shape, DType::F32);
    normal_(r, 0.0, 50.0, &gen);  // spans u8 / i32 values after the cast, not only 0 and +-1
    return r.to(t);
}

}  // namespace

TEST_CASE("copy: large permutes to NHWC and back, every element size", "[core][copy][transpose]") {
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I32, DType::U8}) {
        INFO(dtype_name(t));
        const Tensor x = random_of({2, 64, 37, 53}, t, 1);
        const Tensor nhwc_view = x.permute({0, 2, 3, 1});
        Tensor nhwc = nhwc_view.contiguous();
        REQUIRE(nhwc.is_contiguous());
        require_same_elements(nhwc, nhwc_view);
        const Tensor back_view = nhwc.permute({0, 3, 1, 2});
        const Tensor back = back_view.contiguous();
        require_same_elements(back, x);
        // The mirror image: a contiguous source copied into a permuted destination view.
        Tensor dst = empty({2, 64, 37, 53}, t);
        test::poison(dst);
        Tensor dst_view = dst.permute({0, 2, 3, 1});
        dst_view.copy_(nhwc);
        require_same_elements(dst, x);
    }
}

TEST_CASE("copy: 2-D transposes of odd sizes", "[core][copy][transpose]") {
    for (DType t : {DType::F32, DType::F16, DType::F64}) {
        for (const Shape& shape :
             {Shape{1000, 777}, Shape{777, 1000}, Shape{9, 4099}, Shape{4099, 3}, Shape{8, 8}, Shape{17, 1}}) {
            INFO(dtype_name(t) << " " << shape_str(shape));
            const Tensor x = random_of(shape, t, 2);
            const Tensor xt = x.t();
            const Tensor y = xt.contiguous();
            require_same_elements(y, xt);
        }
    }
}

TEST_CASE("copy: permutes with a cast, a broadcast source and a sliced source", "[core][copy][transpose]") {
    const Tensor x = random_of({3, 19, 33, 41}, DType::F32, 3);
    // Permute and cast in one copy (f32 -> f16 and f32 -> f64).
    for (DType to : {DType::F16, DType::F64, DType::BF16}) {
        Tensor y = empty({3, 33, 41, 19}, to);
        y.copy_(x.permute({0, 2, 3, 1}));
        require_same_elements(y, x.permute({0, 2, 3, 1}));
    }
    // A source broadcast along the batch, then permuted.
    const Tensor b = random_of({1, 19, 33, 41}, DType::F32, 4).expand({4, 19, 33, 41}).permute({0, 2, 3, 1});
    require_same_elements(b.contiguous(), b);
    // A stepped slice of a permute: strided on both sides of the tile.
    const Tensor s = x.slice(3, 1, 41, 3).permute({0, 3, 2, 1});
    require_same_elements(s.contiguous(), s);
    // A 3-D rotation of dims (no dim keeps its place).
    const Tensor r = random_of({23, 45, 67}, DType::F32, 5).permute({2, 0, 1});
    require_same_elements(r.contiguous(), r);
}
