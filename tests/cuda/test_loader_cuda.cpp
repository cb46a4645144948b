// The loader delivering to a CUDA device: pinned host buffers, asynchronous copies on the current
// stream, buffers recycled across batches — every batch must equal the CPU loader's bit for bit.
#include <catch2/catch.hpp>

#include <cstring>

#include "core/allocator.h"
#include "core/stream.h"
#include "core/tensor.h"
#include "data/loader.h"
#include "tests/data/memory_dataset.h"

using namespace segcore;
using namespace segcore::data;
using segcore::test::MemoryDataset;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && a.dtype() == b.dtype() &&
           std::memcmp(a.data_ptr(), b.data_ptr(), size_t(a.nbytes())) == 0;
}

Compose augment() { return standard_train_transforms(16, 20); }

void compare_with_cpu(bool pin, bool side_stream) {
    auto ds = std::make_shared<MemoryDataset>(37, 24, 30);
    LoaderOptions cpu_opt;
    cpu_opt.batch_size = 5;
    cpu_opt.num_workers = 2;
    cpu_opt.seed = 3;
    LoaderOptions gpu_opt = cpu_opt;
    gpu_opt.device = Device::cuda(0);
    gpu_opt.pin_memory = pin;
    Loader cpu_loader(ds, augment(), cpu_opt), gpu_loader(ds, augment(), gpu_opt);
    Stream s{};
    if (side_stream) s = stream_create(0);
    {
        StreamGuard guard(s);
        for (int64_t epoch = 0; epoch < 3; ++epoch) {  // several epochs: pinned blocks get reused
            cpu_loader.start_epoch(epoch);
            gpu_loader.start_epoch(epoch);
            Batch a, b;
            while (cpu_loader.next(a)) {
                REQUIRE(gpu_loader.next(b));
                REQUIRE(b.images.is_cuda());
                REQUIRE(b.labels.is_cuda());
                REQUIRE(b.indices == a.indices);
                REQUIRE(same_bits(b.images.cpu(), a.images));  // cpu() runs on, and waits for, the current stream
                REQUIRE(same_bits(b.labels.cpu(), a.labels));
            }
            REQUIRE_FALSE(gpu_loader.next(b));
        }
    }
    if (side_stream) {
        stream_synchronize(s);
        stream_destroy(s);
    }
}

}  // namespace

TEST_CASE("loader on CUDA: pinned, asynchronous batches equal the CPU loader's", "[cuda][data][loader]") {
    compare_with_cpu(true, false);
    compare_with_cpu(true, true);
    compare_with_cpu(false, false);
}

TEST_CASE("pinned memory: allocation and asynchronous upload", "[cuda][data]") {
    Tensor host = empty_pinned({1000, 3}, DType::F32);
    float* p = host.data<float>();
    for (int i = 0; i < 3000; ++i) p[i] = float(i) * 0.5f;
    const Tensor dev = host.cuda();
    device_synchronize();
    REQUIRE(same_bits(dev.cpu(), host));
    void* raw = pinned_allocate(123);
    REQUIRE(raw != nullptr);
    pinned_deallocate(raw);
    pinned_deallocate(nullptr);
}

TEST_CASE("loader on CUDA: early destruction with copies in flight", "[cuda][data][loader]") {
    auto ds = std::make_shared<MemoryDataset>(40, 64, 64);
    LoaderOptions o;
    o.batch_size = 4;
    o.num_workers = 3;
    o.device = Device::cuda(0);
    Batch keep;
    {
        Loader loader(ds, augment(), o);
        REQUIRE(loader.next(keep));
        Batch b;
        REQUIRE(loader.next(b));
    }
    // A batch outlives its loader; its memory stays valid.
    REQUIRE(keep.images.cpu().numel() == 4 * 3 * 16 * 20);
}
