// CPU-only build: the CUDA entry points of core exist and say that this build has no CUDA backend.
#if !SEGCORE_WITH_CUDA
#include <cstdlib>

#include "core/allocator.h"
#include "core/device.h"
#include "core/error.h"
#include "core/stream.h"

namespace segcore {

#define SEGCORE_NO_CUDA(what) SEGCORE_THROW(what, ": this build has no CUDA backend (configure with -DSEGCORE_CUDA=ON)")

bool cuda_compiled() { return false; }
bool cudnn_compiled() { return false; }
int cuda_device_count() { return 0; }
CudaDeviceInfo cuda_device_info(int) { SEGCORE_NO_CUDA("cuda_device_info"); }

int current_device() { return 0; }
void set_device(int) { SEGCORE_NO_CUDA("set_device"); }
Stream current_stream() { return {}; }
void set_current_stream(Stream) {}
Stream stream_create(int) { SEGCORE_NO_CUDA("stream_create"); }
void stream_destroy(Stream) noexcept {}
void stream_synchronize(Stream) { SEGCORE_NO_CUDA("stream_synchronize"); }
void device_synchronize() {}
Event::Event() { SEGCORE_NO_CUDA("Event"); }
Event::~Event() = default;
void Event::record(Stream) { SEGCORE_NO_CUDA("Event::record"); }
void Event::synchronize() { SEGCORE_NO_CUDA("Event::synchronize"); }
bool Event::query() const { SEGCORE_NO_CUDA("Event::query"); }
float Event::elapsed_ms(const Event&) const { SEGCORE_NO_CUDA("Event::elapsed_ms"); }
bool sync_after_launch() { return false; }
void set_sync_after_launch(bool) {}

// No CUDA: "pinned" memory is ordinary aligned host memory (there is nothing to copy it to).
void* pinned_allocate(size_t nbytes) {
    const size_t rounded = (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    void* p = std::aligned_alloc(kCpuAlignment, rounded ? rounded : kCpuAlignment);
    SEGCORE_CHECK(p, "pinned_allocate: out of host memory allocating ", bytes_str(int64_t(nbytes)));
    return p;
}
void pinned_deallocate(void* p) noexcept { std::free(p); }

void* cuda_allocate(size_t, int) { SEGCORE_NO_CUDA("cuda_allocate"); }
void cuda_deallocate(void*) noexcept {}
void cuda_record_stream(void*, Stream) { SEGCORE_NO_CUDA("record_stream"); }
AllocatorStats cuda_allocator_stats(int) { SEGCORE_NO_CUDA("cuda_allocator_stats"); }
void cuda_empty_cache(int) { SEGCORE_NO_CUDA("cuda_empty_cache"); }
void cuda_reset_peak_stats(int) { SEGCORE_NO_CUDA("cuda_reset_peak_stats"); }

}  // namespace segcore
#endif
