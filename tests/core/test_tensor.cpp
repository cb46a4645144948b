// Tensor: shape helpers, views, copies and casts, fill, factories, printing, errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/allocator.h"
#include "core/error.h"
#include "core/tensor.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

// The tensor's values in logical order, as doubles.
std::vector<double> values(const Tensor& t) {
    std::vector<double> v(static_cast<size_t>(t.numel()));
    for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.get_double(i);
    return v;
}

std::vector<double> iota_d(int64_t n, double start = 0) {
    std::vector<double> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), start);
    return v;
}

Tensor iota_tensor(const Shape& s, DType t = DType::F32) { return arange(0.0, double(shape_numel(s)), 1.0, t).view(s); }

const DType kAllDTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8, DType::Bool};

}  // namespace

TEST_CASE("shape: numel, contiguous strides, str", "[core][shape]") {
    CHECK(shape_numel({}) == 1);
    CHECK(shape_numel({2, 3, 4}) == 24);
    CHECK(shape_numel({2, 0, 4}) == 0);
    CHECK(contiguous_strides({2, 3, 4}) == Strides{12, 4, 1});
    CHECK(contiguous_strides({}).empty());
    CHECK(shape_str({2, 3}) == "(2, 3)");
    CHECK(shape_str({5}) == "(5,)");
    CHECK(shape_str({}) == "()");
}

TEST_CASE("shape: wrap_dim", "[core][shape]") {
    CHECK(wrap_dim(0, 3) == 0);
    CHECK(wrap_dim(-1, 3) == 2);
    CHECK(wrap_dim(-3, 3) == 0);
    CHECK(wrap_dim(0, 0) == 0);   // a 0-dim tensor accepts 0 and -1, like PyTorch
    CHECK(wrap_dim(-1, 0) == 0);
    REQUIRE_THROWS_WITH(wrap_dim(3, 3, "myop"), Catch::Contains("myop") && Catch::Contains("out of range"));
    REQUIRE_THROWS_WITH(wrap_dim(-4, 3), Catch::Contains("dimension -4"));
}

TEST_CASE("shape: broadcast_shapes", "[core][shape]") {
    CHECK(broadcast_shapes({2, 1, 4}, {3, 1}) == Shape{2, 3, 4});
    CHECK(broadcast_shapes({}, {3}) == Shape{3});
    CHECK(broadcast_shapes({5, 0}, {1}) == Shape{5, 0});
    REQUIRE_THROWS_WITH(broadcast_shapes({2, 3}, {4}), Catch::Contains("(2, 3)") && Catch::Contains("(4,)") &&
                                                           Catch::Contains("cannot be broadcast"));
}

TEST_CASE("error: messages carry file:line", "[core][error]") {
    try {
        SEGCORE_CHECK(1 + 1 == 3, "expected ", 3, ", got ", 2);
        FAIL("no throw");
    } catch (const Error& e) {
        CHECK(e.message() == "expected 3, got 2");
        CHECK(std::string(e.what()).find("test_tensor.cpp:") != std::string::npos);
        CHECK(e.line() > 0);
    }
    try {
        (void)zeros({2}).view({3});
        FAIL("no throw");
    } catch (const Error& e) {
        CHECK_THAT(e.what(), Catch::Contains("core/tensor.cpp:"));
    }
    CHECK_THROWS_AS(detail::throw_oom(__FILE__, __LINE__, "x"), OutOfMemoryError);
}

TEST_CASE("tensor: view and reshape", "[core][tensor][view]") {
    const Tensor a = iota_tensor({2, 3, 4});
    const Tensor v = a.view({6, 4});
    CHECK(v.shares_storage(a));
    CHECK(v.shape() == Shape{6, 4});
    CHECK(values(v) == iota_d(24));
    CHECK(a.view({-1}).shape() == Shape{24});
    CHECK(a.view({4, -1}).shape() == Shape{4, 6});
    CHECK(a.view({2, 1, 12, 1}).strides() == Strides{12, 12, 1, 1});
    REQUIRE_THROWS_WITH(a.view({-1, -1}), Catch::Contains("only one dimension can be -1"));
    REQUIRE_THROWS_WITH(a.view({5, -1}), Catch::Contains("invalid for a tensor of 24 elements"));
    REQUIRE_THROWS_WITH(a.view({5, 5}), Catch::Contains("invalid for a tensor of 24 elements"));

    // A transposed tensor cannot be flattened without a copy.
    const Tensor t = a.transpose(1, 2);  // (2, 4, 3)
    REQUIRE_THROWS_WITH(t.view({24}), Catch::Contains("cannot view a tensor of shape (2, 4, 3)") &&
                                          Catch::Contains("reshape()"));
    const Tensor r = t.reshape({24});
    CHECK_FALSE(r.shares_storage(a));
    CHECK(r.is_contiguous());
    CHECK(values(r) == values(t.contiguous()));
    // ...but its leading dim can be split, which is still a view.
    const Tensor s = t.view({1, 2, 4, 3});
    CHECK(s.shares_storage(a));
    CHECK(a.reshape({4, 6}).shares_storage(a));
    // Viewing a narrowed tensor works where the strides allow.
    const Tensor n = iota_tensor({4, 6}).narrow(0, 1, 2);  // rows 1..2, contiguous block
    CHECK(values(n.view({12})) == iota_d(12, 6));
    const Tensor nc = iota_tensor({4, 6}).narrow(1, 1, 2);
    CHECK_THROWS(nc.view({8}));
    CHECK(values(nc.reshape({8})) == std::vector<double>{1, 2, 7, 8, 13, 14, 19, 20});
    // Empty tensors view freely.
    CHECK(zeros({0, 3}).view({3, 0, 5}).shape() == Shape{3, 0, 5});
    CHECK(zeros({}).view({1, 1}).numel() == 1);
}

TEST_CASE("tensor: flatten, permute, transpose", "[core][tensor][view]") {
    const Tensor a = iota_tensor({2, 3, 4, 5});
    CHECK(a.flatten().shape() == Shape{120});
    CHECK(a.flatten(1).shape() == Shape{2, 60});
    CHECK(a.flatten(1, 2).shape() == Shape{2, 12, 5});
    CHECK(zeros({}).flatten().shape() == Shape{1});
    REQUIRE_THROWS_WITH(a.flatten(2, 1), Catch::Contains("start dim 2 is after end dim 1"));

    const Tensor p = a.permute({0, 2, 3, 1});  // NCHW -> NHWC
    CHECK(p.shape() == Shape{2, 4, 5, 3});
    CHECK(p.strides() == Strides{60, 5, 1, 20});
    CHECK_FALSE(p.is_contiguous());
    CHECK(p.get_double(1) == 20);  // (0, 0, 0, 1) = a[0, 1, 0, 0]
    CHECK(p.permute({0, 3, 1, 2}).is_contiguous());
    REQUIRE_THROWS_WITH(a.permute({0, 1, 1, 2}), Catch::Contains("appears twice"));
    REQUIRE_THROWS_WITH(a.permute({0, 1}), Catch::Contains("expected 4 dims"));
    const Tensor m = iota_tensor({2, 3});
    CHECK(values(m.t()) == std::vector<double>{0, 3, 1, 4, 2, 5});
    CHECK(m.transpose(-1, -2).shape() == Shape{3, 2});
}

TEST_CASE("tensor: narrow, slice, select", "[core][tensor][view]") {
    const Tensor a = iota_tensor({4, 5});
    CHECK(values(a.narrow(1, 1, 3)) ==
          std::vector<double>{1, 2, 3, 6, 7, 8, 11, 12, 13, 16, 17, 18});
    CHECK(values(a.narrow(0, -1, 1)) == std::vector<double>{15, 16, 17, 18, 19});
    CHECK(a.narrow(0, 4, 0).numel() == 0);
    REQUIRE_THROWS_WITH(a.narrow(1, 3, 3), Catch::Contains("outside dimension 1 of size 5"));

    const Tensor r = iota_tensor({10});
    CHECK(values(r.slice(0, 1, 8, 3)) == std::vector<double>{1, 4, 7});
    CHECK(values(r.slice(0, -3, 10)) == std::vector<double>{7, 8, 9});
    CHECK(values(r.slice(0, 2, -5)) == std::vector<double>{2, 3, 4});
    CHECK(values(r.slice(0, -100, 100, 4)) == std::vector<double>{0, 4, 8});
    CHECK(r.slice(0, 7, 3).numel() == 0);
    CHECK(r.slice(0, 0, 10, 2).strides() == Strides{2});
    CHECK(values(a.slice(1, 0, 5, 2).slice(0, 1, 4, 2)) == std::vector<double>{5, 7, 9, 15, 17, 19});
    REQUIRE_THROWS_WITH(r.slice(0, 0, 5, 0), Catch::Contains("step must be positive"));

    CHECK(values(a.select(0, 2)) == std::vector<double>{10, 11, 12, 13, 14});
    CHECK(values(a.select(1, -1)) == std::vector<double>{4, 9, 14, 19});
    CHECK(a.select(1, 0).shape() == Shape{4});
    CHECK(r.select(0, 3).dim() == 0);
    CHECK(r.select(0, 3).item<float>() == 3.0f);
    REQUIRE_THROWS_WITH(a.select(0, 4), Catch::Contains("index 4 is out of range for dimension 0 of size 4"));
    REQUIRE_THROWS_WITH(a.select(0, -5), Catch::Contains("out of range"));
}

TEST_CASE("tensor: expand, squeeze, unsqueeze, as_strided", "[core][tensor][view]") {
    const Tensor c = iota_tensor({3, 1});
    const Tensor e = c.expand({2, 3, 4});
    CHECK(e.shape() == Shape{2, 3, 4});
    CHECK(e.strides() == Strides{0, 1, 0});
    CHECK(e.get_double(23) == 2);
    CHECK(e.get_double(4) == 1);
    CHECK(c.expand({-1, 5}).shape() == Shape{3, 5});
    REQUIRE_THROWS_WITH(c.expand({4, 4}), Catch::Contains("only size-1 dims can be expanded"));
    REQUIRE_THROWS_WITH(c.expand({3}), Catch::Contains("fewer dims"));
    const Tensor ec = e.contiguous();
    CHECK(ec.is_contiguous());
    CHECK(values(ec) == values(e));

    const Tensor s = zeros({1, 3, 1, 2});
    CHECK(s.squeeze().shape() == Shape{3, 2});
    CHECK(s.squeeze(2).shape() == Shape{1, 3, 2});
    CHECK(s.squeeze(1).shape() == Shape{1, 3, 1, 2});  // not size 1: unchanged
    CHECK(s.squeeze(-4).shape() == Shape{3, 1, 2});
    const Tensor u = iota_tensor({2, 3});
    CHECK(u.unsqueeze(0).shape() == Shape{1, 2, 3});
    CHECK(u.unsqueeze(-1).shape() == Shape{2, 3, 1});
    CHECK(u.unsqueeze(1).shape() == Shape{2, 1, 3});
    CHECK(u.unsqueeze(1).is_contiguous());
    CHECK(u.unsqueeze(2).is_contiguous());
    CHECK(values(u.unsqueeze(1)) == values(u));
    CHECK(zeros({}).unsqueeze(0).shape() == Shape{1});
    REQUIRE_THROWS(u.unsqueeze(3));

    const Tensor b = iota_tensor({12});
    const Tensor w = b.as_strided({3, 3}, {3, 1}, 1);  // overlapping windows
    CHECK(values(w) == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(values(b.as_strided({4}, {0}, 11)) == std::vector<double>{11, 11, 11, 11});
    REQUIRE_THROWS_WITH(b.as_strided({3, 4}, {4, 1}, 1), Catch::Contains("past the end of its storage"));
    REQUIRE_THROWS_WITH(b.as_strided({2}, {1, 1}, 0), Catch::Contains("differ in length"));
    REQUIRE_THROWS(b.as_strided({2}, {1}, -1));
    CHECK(b.as_strided({0, 5}, {100, 100}, 0).numel() == 0);
}

TEST_CASE("tensor: contiguous, clone, is_contiguous", "[core][tensor]") {
    const Tensor a = iota_tensor({3, 4});
    CHECK(a.contiguous().shares_storage(a));
    const Tensor c = a.clone();
    CHECK_FALSE(c.shares_storage(a));
    CHECK(values(c) == values(a));
    const Tensor t = a.t();
    CHECK_FALSE(t.is_contiguous());
    const Tensor tc = t.contiguous();
    CHECK(tc.is_contiguous());
    CHECK(tc.strides() == Strides{3, 1});
    CHECK(values(tc) == values(t));
    CHECK(zeros({3, 1, 4}).is_contiguous());
    CHECK(zeros({}).is_contiguous());
}

TEST_CASE("tensor: to(dtype) for all 8x8 dtype pairs", "[core][tensor][cast]") {
    // Values every dtype can hold exactly (so each source is what we think it is), then the
    // expected conversions: float -> int truncates toward zero, x -> bool is x != 0.
    const std::vector<double> src_vals = {0, 1, 2.5, -1.75, 100, 200, -3, 0.5};
    for (DType from : kAllDTypes) {
        // What `from` holds after storing src_vals.
        std::vector<double> held;
        for (double v : src_vals) {
            double h = v;
            if (!is_floating(from)) h = std::trunc(v);
            if (from == DType::U8) h = double(uint8_t(int64_t(std::trunc(v))));
            if (from == DType::Bool) h = v != 0 ? 1 : 0;
            held.push_back(h);
        }
        const Tensor src = from_vector<double>(src_vals, {2, 4}).to(from);
        CHECK(values(src) == held);
        for (DType to : kAllDTypes) {
            INFO(dtype_name(from) << " -> " << dtype_name(to));
            const Tensor out = src.to(to);
            CHECK(out.dtype() == to);
            CHECK(out.shape() == Shape{2, 4});
            std::vector<double> want;
            for (double h : held) {
                double w = h;
                if (to == DType::Bool) w = h != 0 ? 1 : 0;
                else if (!is_floating(to)) w = std::trunc(h);
                if (to == DType::U8) w = double(uint8_t(int64_t(std::trunc(h))));
                want.push_back(w);
            }
            CHECK(values(out) == want);
            // Through a transposed (non-contiguous) source as well.
            CHECK(values(src.t().to(to)) == values(out.t()));
        }
    }
    // Rounding on the way into 16-bit floats is to nearest even.
    const Tensor f = from_vector<float>({1.0f + 1.0f / 2048, 65520.0f, 1e-8f, 0.1f}, {4});
    const Tensor h = f.to(DType::F16);
    CHECK(h.get_double(0) == 1.0);
    CHECK(std::isinf(h.get_double(1)));
    CHECK(h.get_double(2) == 0.0);
    CHECK(h.get_double(3) == double(float(Half(0.1f))));
    const Tensor nan = from_vector<float>({std::numeric_limits<float>::quiet_NaN()}, {1});
    CHECK(std::isnan(nan.to(DType::BF16).get_double(0)));
    CHECK(nan.to(DType::Bool).get_double(0) == 1);
    CHECK(from_vector<double>({-0.0}, {1}).to(DType::Bool).get_double(0) == 0);
}

TEST_CASE("tensor: copy_ broadcasts into a non-contiguous destination", "[core][tensor][copy]") {
    Tensor dst = full({4, 3}, -1.0, DType::F64);
    Tensor view = dst.t();  // (3, 4), strides (1, 3)
    const Tensor row = from_vector<int32_t>({10, 20, 30, 40}, {4});
    view.copy_(row);  // every row of the view gets [10, 20, 30, 40]
    CHECK(values(dst) == std::vector<double>{10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40});
    // A strided slice destination: only the selected elements change.
    Tensor base = zeros({10}, DType::F32);
    Tensor every3 = base.slice(0, 0, 10, 3);
    every3.copy_(from_vector<float>({5}, {1}));
    CHECK(values(base) == std::vector<double>{5, 0, 0, 5, 0, 0, 5, 0, 0, 5});
    // Permuted 4-D copy with a cast, larger than one parallel chunk.
    const Tensor x = iota_tensor({3, 17, 29, 31});
    Tensor y = empty({3, 29, 31, 17}, DType::F64);
    test::poison(y);
    y.copy_(x.permute({0, 2, 3, 1}));
    const Tensor back = y.permute({0, 3, 1, 2});
    CHECK(values(back) == iota_d(x.numel()));
    REQUIRE_THROWS_WITH(zeros({2, 3}).copy_(zeros({4})), Catch::Contains("expand"));
    REQUIRE_THROWS(Tensor().copy_(zeros({1})));
}

TEST_CASE("tensor: fill_ on views", "[core][tensor][fill]") {
    Tensor a = zeros({4, 6}, DType::I32);
    Tensor col = a.narrow(1, 2, 2);
    col.fill_(7);
    for (int64_t i = 0; i < 24; ++i) CHECK(a.get_double(i) == ((i % 6 == 2 || i % 6 == 3) ? 7 : 0));
    a.t().fill_(-2);
    CHECK(values(a) == std::vector<double>(24, -2));
    for (DType t : kAllDTypes) {
        Tensor z = empty({3, 5}, t);
        z.fill_(1);
        CHECK(values(z) == std::vector<double>(15, 1));
        z.zero_();
        CHECK(values(z) == std::vector<double>(15, 0));
    }
    Tensor h = empty({5}, DType::F16);
    h.fill_(1e6);
    CHECK(std::isinf(h.get_double(0)));
    Tensor e = empty({0, 4});
    e.fill_(3);  // no-op
}

TEST_CASE("tensor: factories", "[core][tensor][factory]") {
    const Tensor z = zeros({2, 3}, DType::I64);
    CHECK(z.dtype() == DType::I64);
    CHECK(z.is_cpu());
    CHECK(values(z) == std::vector<double>(6, 0));
    CHECK(values(ones({3}, DType::BF16)) == std::vector<double>(3, 1));
    CHECK(values(full({2, 2}, 2.5)) == std::vector<double>(4, 2.5));
    CHECK(zeros({}).numel() == 1);
    CHECK(zeros({0}).numel() == 0);
    CHECK(zeros({0}).nbytes() == 0);
    REQUIRE_THROWS_WITH(empty({2, -1}), Catch::Contains("negative size"));
    REQUIRE_THROWS(empty({1, 1, 1, 1, 1, 1, 1, 1, 1}));  // more than kMaxDims

    CHECK(values(arange(5)) == iota_d(5));
    CHECK(arange(5).dtype() == DType::I64);
    CHECK(values(arange(1.0, 2.0, 0.25)) == std::vector<double>{1, 1.25, 1.5, 1.75});
    CHECK(values(arange(5.0, 0.0, -2.0)) == std::vector<double>{5, 3, 1});
    CHECK(arange(3.0, 1.0).numel() == 0);
    CHECK(arange(0.0, 1.0, 0.3).numel() == 4);  // ceil(1 / 0.3)
    REQUIRE_THROWS_WITH(arange(0.0, 1.0, 0.0), Catch::Contains("step must be nonzero"));

    const Tensor v = from_vector<int32_t>({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(v.dtype() == DType::I32);
    CHECK(v.data<int32_t>()[5] == 6);
    REQUIRE_THROWS_WITH(v.data<float>(), Catch::Contains("expected dtype f32, got i32"));
    REQUIRE_THROWS_WITH(from_vector<float>({1, 2, 3}, {2, 2}), Catch::Contains("3 values do not fill shape (2, 2)"));

    std::vector<float> buf = {1, 2, 3, 4};
    Tensor blob = from_blob(buf.data(), {2, 2});
    CHECK(blob.data_ptr() == buf.data());
    blob.fill_(9);
    CHECK(buf[3] == 9);
    CHECK(empty_like(v).shape() == v.shape());
    CHECK(zeros_like(v).dtype() == DType::I32);
    CHECK(v.meta_str() == "i32 (2, 3) cpu");
    CHECK(v.select(0, 1).select(0, 2).item_double() == 6);
    REQUIRE_THROWS_WITH(v.item_double(), Catch::Contains("one-element"));
    REQUIRE_THROWS_WITH(v.get_double(6), Catch::Contains("out of range"));
    CHECK(v.size(-1) == 3);
    CHECK(v.stride(0) == 3);
    REQUIRE_THROWS(v.size(2));
}

TEST_CASE("tensor: CPU allocations are 64-byte aligned and counted", "[core][allocator]") {
    for (int64_t n : {1, 3, 63, 64, 65, 1000, 4097}) {
        const Tensor t = empty({n}, DType::U8);
        CHECK(reinterpret_cast<uintptr_t>(t.data_ptr()) % kCpuAlignment == 0);
    }
    const AllocatorStats before = cpu_allocator_stats();
    {
        const Tensor t = empty({1000}, DType::U8);
        CHECK(cpu_allocator_stats().allocated == before.allocated + 1024);
    }
    CHECK(cpu_allocator_stats().allocated == before.allocated);
    CHECK(bytes_str(1536) == "1.50 KiB");
    CHECK(bytes_str(100) == "100 B");
}

TEST_CASE("tensor: CUDA entry points fail clearly without a device", "[core][tensor]") {
    if (cuda_device_count() > 0) return;
    REQUIRE_THROWS_WITH(zeros({2}).cuda(), Catch::Contains("CUDA"));
    REQUIRE_THROWS_WITH(empty({2}, Device::cuda()), Catch::Contains("empty"));
}

TEST_CASE("tensor: record_stream is a no-op for CPU tensors", "[core][tensor][record_stream]") {
    const Tensor x = zeros({1000});
    const AllocatorStats before = cpu_allocator_stats();
    x.record_stream(current_stream());
    x.narrow(0, 10, 5).record_stream(Stream{reinterpret_cast<void*>(0x1234), 0});
    empty({0}).record_stream(current_stream());
    CHECK(cpu_allocator_stats().allocated == before.allocated);
    CHECK_THROWS_WITH(Tensor().record_stream(current_stream()), Catch::Contains("record_stream"));
}

TEST_CASE("device: parse and str", "[core][device]") {
    CHECK(Device::parse("cpu") == Device::cpu());
    CHECK(Device::parse("cuda:2").index == 2);
    CHECK(Device::parse("cuda").str() == "cuda:0");
    REQUIRE_THROWS_WITH(Device::parse("cuda:x"), Catch::Contains("unknown device 'cuda:x'"));
    REQUIRE_THROWS(Device::parse("cuda:-1"));
    REQUIRE_THROWS(Device::parse("gpu"));
}

TEST_CASE("tensor: printing", "[core][tensor][print]") {
    CHECK(from_vector<float>({1, 2.5f, -3}, {3}).str() == "tensor([1, 2.5, -3], f32 (3,) cpu)");
    CHECK(from_vector<int64_t>({1, 2, 3, 4}, {2, 2}).str() == "tensor([[1, 2],\n        [3, 4]], i64 (2, 2) cpu)");
    CHECK(full({}, 7, DType::I32).str() == "tensor(7, i32 () cpu)");
    CHECK(zeros({2}, DType::Bool).str() == "tensor([False, False], bool (2,) cpu)");
    CHECK(Tensor().str() == "tensor(undefined)");
    const std::string big = arange(2000, DType::I64).str();
    CHECK_THAT(big, Catch::StartsWith("tensor([0, 1, 2, ..., 1997, 1998, 1999]"));
    const std::string big2 = arange(0.0, 4000.0, 1.0, DType::F32).view({40, 100}).str();
    CHECK_THAT(big2, Catch::Contains("..."));
    CHECK_THAT(big2, Catch::Contains("3999"));
    CHECK(big2.size() < 400);
    // Printing follows the logical order of a non-contiguous view.
    CHECK(from_vector<int32_t>({1, 2, 3, 4}, {2, 2}).t().str() == "tensor([[1, 3],\n        [2, 4]], i32 (2, 2) cpu)");
    std::ostringstream os;
    os << zeros({1}, DType::U8);
    CHECK(os.str() == "tensor([0], u8 (1,) cpu)");
}
