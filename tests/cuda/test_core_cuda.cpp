// Core on CUDA: transfers, copy/cast/fill against the CPU, random fills bitwise-equal to the CPU,
// the caching allocator, out-of-memory errors, streams and events.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/allocator.h"
#include "core/error.h"
#include "core/stream.h"
#include "core/tensor.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

const DType kAllDTypes[] = {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8, DType::Bool};

// Values every conversion handles without undefined behaviour (no negative float -> u8).
Tensor source(DType t, const Shape& s, Generator& g) {
    if (t == DType::Bool) return randint(0, 2, s, DType::I64, &g).to(DType::Bool);
    if (is_floating(t)) {
        Tensor x = empty(s, t);
        return uniform_(x, 0, 100, &g);
    }
    return randint(0, 200, s, t, &g);
}

bool same_bytes(const Tensor& a, const Tensor& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    const Tensor x = a.cpu().contiguous(), y = b.cpu().contiguous();
    return std::memcmp(x.data_ptr(), y.data_ptr(), size_t(x.nbytes())) == 0;
}

// A non-contiguous view of a tensor of shape s: reversed dims (a permutation) when rank > 1,
// else every other element of a doubled buffer.
Tensor strided_view(const Tensor& base_of_double_size_or_same, int64_t rank) {
    if (rank > 1) {
        std::vector<int64_t> dims;
        for (int64_t d = rank - 1; d >= 0; --d) dims.push_back(d);
        return base_of_double_size_or_same.permute(dims);
    }
    return base_of_double_size_or_same.slice(0, 0, base_of_double_size_or_same.size(0), 2);
}

}  // namespace

TEST_CASE("cuda: to(cuda) and back preserves every dtype", "[cuda][core]") {
    Generator g(1);
    for (DType t : kAllDTypes) {
        INFO(dtype_name(t));
        const Tensor x = source(t, {13, 37}, g);
        const Tensor d = x.cuda();
        CHECK(d.is_cuda());
        CHECK(d.device() == Device::cuda(0));
        CHECK(d.dtype() == t);
        CHECK(same_bytes(d.cpu(), x));
        CHECK(same_bytes(x.t().cuda().cpu(), x.t()));       // non-contiguous host source
        CHECK(same_bytes(d.t().cpu(), x.t()));             // non-contiguous device source
        Tensor host = empty({37, 13}, t);
        test::poison(host);
        Tensor host_view = host.t();
        host_view.copy_(d);                                // into a non-contiguous host destination
        CHECK(same_bytes(host_view, x));
        CHECK(same_bytes(empty({0, 3}, t).cuda().cpu(), empty({0, 3}, t)));
        const Tensor scalar = source(t, {}, g);
        CHECK(same_bytes(scalar.cuda().cpu(), scalar));
    }
    const Tensor s = full({}, 3.5).cuda();
    CHECK(s.item<float>() == 3.5f);
}

TEST_CASE("cuda: copy_ and to(dtype) match the CPU over odd shapes and views", "[cuda][core]") {
    Generator g(2);
    for (const Shape& shape : test::odd_shapes()) {
        const int64_t rank = int64_t(shape.size());
        Shape base_shape = shape;
        if (rank > 1) std::reverse(base_shape.begin(), base_shape.end());
        else base_shape[0] *= 2;
        for (DType from : kAllDTypes) {
            const Tensor base = source(from, base_shape, g);
            const Tensor src_cpu = strided_view(base, rank);
            const Tensor src_gpu = strided_view(base.cuda(), rank);
            REQUIRE(src_cpu.shape() == shape);
            for (DType to : kAllDTypes) {
                INFO(shape_str(shape) << " " << dtype_name(from) << " -> " << dtype_name(to));
                const Tensor ref = src_cpu.to(to);
                // Contiguous destination.
                Tensor out = empty(shape, {to, Device::cuda()});
                test::poison(out);
                out.copy_(src_gpu);
                CHECK(same_bytes(out, ref));
                CHECK(same_bytes(src_gpu.to(to), ref));
                // Non-contiguous destination (a transposed or strided buffer).
                Tensor dbase = empty(base_shape, {to, Device::cuda()});
                test::poison(dbase);
                Tensor dview = strided_view(dbase, rank);
                dview.copy_(src_gpu);
                CHECK(same_bytes(dview, ref));
            }
        }
    }
    // Broadcasting source into a device view.
    Tensor d = empty({4, 3}, {DType::F32, Device::cuda()});
    test::poison(d);
    Tensor dt = d.t();
    dt.copy_(from_vector<int32_t>({1, 2, 3, 4}, {4}).cuda());
    CHECK(same_bytes(d, from_vector<float>({1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}, {4, 3})));
}

TEST_CASE("cuda: fill_ matches the CPU", "[cuda][core]") {
    for (DType t : kAllDTypes) {
        for (double v : {0.0, 1.0, 2.75, 70000.0, -3.0}) {
            if (t == DType::U8 && (v < 0 || v > 255)) continue;  // out-of-range float -> u8 is undefined
            INFO(dtype_name(t) << " " << v);
            Tensor c = zeros({7, 9}, t), d = zeros({7, 9}, {t, Device::cuda()});
            Tensor cv = c.slice(1, 1, 9, 2), dv = d.slice(1, 1, 9, 2);
            cv.fill_(v);
            dv.fill_(v);
            CHECK(same_bytes(d, c));
        }
    }
}

TEST_CASE("cuda: random fills are bitwise equal to the CPU for the same generator state", "[cuda][core][random]") {
    for (DType t : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
        INFO(dtype_name(t));
        Generator gc(77), gd(77);
        gc.set_offset(12345);
        gd.set_offset(12345);
        CHECK(same_bytes(rand({1001, 33}, t, &gc), rand({1001, 33}, {t, Device::cuda()}, &gd)));
        Tensor uc = empty({257, 3}, t), ud = empty({257, 3}, {t, Device::cuda()});
        uniform_(uc, -2, 5, &gc);
        uniform_(ud, -2, 5, &gd);
        CHECK(same_bytes(uc, ud));
        // Normals go through log/sqrt/cos in double, where CUDA (1-2 ulp) and glibc may differ in the
        // last bit of the double; after rounding to float that shows only near a rounding boundary
        // (about 1e-8 per element): allow one ulp of the output type. normal_scaled returns a float
        // for every dtype, so an f64 tensor holds floats and gets the f32 ulp.
        const Tensor nc = randn({100003}, t, &gc);
        const Tensor nd = randn({100003}, {t, Device::cuda()}, &gd).cpu();
        const Tensor a = nc.to(DType::F64), b = nd.to(DType::F64);
        int64_t worse = 0, differ = 0;
        for (int64_t i = 0; i < a.numel(); ++i) {
            const double x = a.data<double>()[i], y = b.data<double>()[i];
            differ += x != y;
            const double ulp = t == DType::F64 || t == DType::F32 ? std::abs(x) * 1.2e-7
                               : t == DType::F16 ? std::abs(x) * 9.8e-4 + 6e-8 : std::abs(x) * 7.9e-3 + 1e-38;
            if (std::abs(x - y) > ulp) worse++;
        }
        CHECK(worse == 0);
        CHECK(differ <= 3);  // one-ulp differences stay rare; many would mean a formula drifted
        CHECK(gc.offset() == gd.offset());
    }
    for (DType t : {DType::I64, DType::I32, DType::U8}) {
        Generator gc(5), gd(5);
        CHECK(same_bytes(randint(0, 200, {999, 7}, t, &gc), randint(0, 200, {999, 7}, {t, Device::cuda()}, &gd)));
        CHECK(same_bytes(randint(-7, 1 << 20, {64}, DType::I64, &gc),
                         randint(-7, 1 << 20, {64}, {DType::I64, Device::cuda()}, &gd)));
    }
    // Layout independence on the device: a transposed view gets the logical values.
    Generator gc(9), gd(9);
    const Tensor ref = rand({37, 53}, {}, &gc);
    Tensor storage = empty({53, 37}, {DType::F32, Device::cuda()});
    Tensor view = storage.t();
    uniform_(view, 0, 1, &gd);
    CHECK(same_bytes(view, ref));
}

TEST_CASE("cuda: caching allocator statistics", "[cuda][core][allocator]") {
    device_synchronize();
    cuda_empty_cache(0);
    const AllocatorStats s0 = cuda_allocator_stats(0);
    const int64_t two_mib = int64_t(2) << 20;
    {
        const Tensor a = empty({int64_t(1) << 20}, {DType::U8, Device::cuda()});  // 1 MiB -> a 2 MiB block
        const AllocatorStats s1 = cuda_allocator_stats(0);
        CHECK(s1.allocated == s0.allocated + two_mib);
        CHECK(s1.reserved == s0.reserved + two_mib);
        CHECK(s1.num_raw_allocs == s0.num_raw_allocs + 1);
        CHECK(s1.peak_allocated >= s1.allocated);
    }
    const AllocatorStats s2 = cuda_allocator_stats(0);
    CHECK(s2.allocated == s0.allocated);
    CHECK(s2.reserved == s0.reserved + two_mib);  // cached, not returned
    {
        const Tensor b = empty({(int64_t(1) << 20) + 5}, {DType::U8, Device::cuda()});
        const AllocatorStats s3 = cuda_allocator_stats(0);
        CHECK(s3.num_cache_hits == s2.num_cache_hits + 1);
        CHECK(s3.num_raw_allocs == s2.num_raw_allocs);
    }
    cuda_empty_cache(0);
    CHECK(cuda_allocator_stats(0).reserved == s0.reserved);
    cuda_reset_peak_stats(0);
    CHECK(cuda_allocator_stats(0).peak_allocated == cuda_allocator_stats(0).allocated);
}

TEST_CASE("cuda: an impossible allocation throws OutOfMemoryError naming the size", "[cuda][core][allocator]") {
    const int64_t pib = int64_t(1) << 50;
    try {
        (void)empty({pib}, {DType::U8, Device::cuda()});
        FAIL("expected OutOfMemoryError");
    } catch (const OutOfMemoryError& e) {
        CHECK_THAT(e.what(), Catch::Contains("cuda:0") && Catch::Contains("1125899906842624 bytes") &&
                                 Catch::Contains("allocated"));
    }
    // The device is still usable.
    CHECK(full({4}, 2.0, Device::cuda()).cpu().get_double(3) == 2.0);
    CHECK(cuda_allocator_stats(0).num_ooms >= 1);
}

TEST_CASE("cuda: streams and events", "[cuda][core][stream]") {
    CHECK(cuda_device_count() >= 1);
    CHECK_FALSE(cuda_device_info(0).name.empty());
    CHECK(current_device() == 0);
    const Stream s = stream_create(0);
    REQUIRE(s.handle != nullptr);
    {
        StreamGuard guard(s);
        CHECK(current_stream() == s);
        Event start, stop;
        start.record(s);
        Tensor x = empty({int64_t(1) << 24}, Device::cuda());
        x.fill_(1.5);
        Tensor y = x.to(DType::F16);
        stop.record(s);
        stop.synchronize();
        CHECK(stop.query());
        CHECK(start.elapsed_ms(stop) >= 0.0f);
        stream_synchronize(s);
        CHECK(y.cpu().get_double(12345) == 1.5);
    }
    CHECK(current_stream().handle == nullptr);  // the guard restored the default stream
    stream_destroy(s);
    device_synchronize();
}

TEST_CASE("cuda: record_stream keeps a block from being reused while another stream uses it",
          "[cuda][core][allocator][record_stream]") {
    device_synchronize();
    cuda_empty_cache(0);  // a new stream may reuse the handle of a destroyed one with cached blocks
    const Stream a = stream_create(0), b = stream_create(0);
    const int64_t n = int64_t(1) << 26;  // 256 MiB of f32: each pass over it takes a while
    void* p = nullptr;
    Tensor out;
    Event b_done;
    {
        Tensor x;
        {
            StreamGuard on_a(a);
            x = empty({n}, Device::cuda());
            x.fill_(1.5);
        }
        stream_synchronize(a);  // x is ready before b reads it (segcore has no stream-wait API)
        p = x.storage()->data();
        x.record_stream(b);
        x.record_stream(b);  // idempotent
        {
            StreamGuard on_b(b);
            for (int i = 0; i < 8; ++i) x.fill_(2.5);  // keep b busy
            out = x.to(DType::F16);                    // reads x on b
            b_done.record(b);
        }
        const AllocatorStats before = cuda_allocator_stats(0);
        x = Tensor();  // frees the block while b's work is (most likely) still queued
        const AllocatorStats after = cuda_allocator_stats(0);
        CHECK(after.allocated == before.allocated - n * 4);
        CHECK(after.reserved == before.reserved);  // pending, still reserved
    }
    {
        StreamGuard on_a(a);
        Tensor y = empty({n}, Device::cuda());  // same size on the allocation stream
        const bool b_finished = b_done.query();  // if b was busy now, it was busy at the allocation
        if (!b_finished) CHECK(y.storage()->data() != p);
        y.fill_(7.0);  // would overwrite x under b's feet if the block had been reused
        stream_synchronize(a);
        stream_synchronize(b);
        // Once b is done the block returns to a's cache and is handed out there again.
        Tensor z = empty({n}, Device::cuda());
        CHECK((z.storage()->data() == p || y.storage()->data() == p));
        stream_synchronize(a);
    }
    // Correctness: b's read saw its own fills, never a's 7.
    const Tensor host = out.cpu();
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; i += 4093) wrong += host.get_double(i) != 2.5;
    wrong += host.get_double(n - 1) != 2.5;
    CHECK(wrong == 0);
    // Recording the allocation stream and CPU tensors: no-ops; another device's stream: an error.
    {
        StreamGuard on_a(a);
        Tensor w = empty({1000}, Device::cuda());
        w.record_stream(a);
        zeros({3}).record_stream(b);
        if (cuda_device_count() > 1) CHECK_THROWS_WITH(w.record_stream(Stream{nullptr, 1}), Catch::Contains("record_stream"));
        stream_synchronize(a);
    }
    out = Tensor();
    device_synchronize();
    cuda_empty_cache(0);
    stream_destroy(a);
    stream_destroy(b);
}

TEST_CASE("cuda: set_sync_after_launch toggles", "[cuda][core][stream]") {
    const bool before = sync_after_launch();
    set_sync_after_launch(true);
    CHECK(sync_after_launch());
    Tensor x = zeros({1000}, Device::cuda());
    x.fill_(3);
    CHECK(x.cpu().get_double(999) == 3);
    set_sync_after_launch(false);
    CHECK_FALSE(sync_after_launch());
    set_sync_after_launch(before);
}
