// The CUDA side of core: devices, streams, events, the caching allocator's backend, cuBLAS handles.
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/allocator.h"
#include "core/caching_allocator.h"
#include "core/cuda/cuda_check.h"
#include "core/device.h"
#include "core/stream.h"

namespace segcore {

bool cuda_compiled() { return true; }
#if SEGCORE_WITH_CUDNN
bool cudnn_compiled() { return true; }
#else
bool cudnn_compiled() { return false; }
#endif

int cuda_device_count() {
    static const int count = [] {
        int n = 0;
        if (cudaGetDeviceCount(&n) != cudaSuccess) {
            cudaGetLastError();  // no driver or no device: not an error, just zero devices
            n = 0;
        }
        return n;
    }();
    return count;
}

CudaDeviceInfo cuda_device_info(int index) {
    require_cuda("cuda_device_info");
    cudaDeviceProp p{};
    SEGCORE_CUDA_CHECK(cudaGetDeviceProperties(&p, index));
    CudaDeviceInfo info;
    info.index = index;
    info.name = p.name;
    info.major = p.major;
    info.minor = p.minor;
    info.multiprocessors = p.multiProcessorCount;
    info.total_memory = int64_t(p.totalGlobalMem);
    info.l2_cache_bytes = p.l2CacheSize;
    info.memory_bus_width = p.memoryBusWidth;
    return info;
}

// ---- streams and events ----
namespace {
thread_local Stream t_current_stream{};
std::atomic<int> g_sync_launches{-1};  // -1: not yet read from the environment
}  // namespace

int current_device() {
    int d = 0;
    SEGCORE_CUDA_CHECK(cudaGetDevice(&d));
    return d;
}
void set_device(int index) { SEGCORE_CUDA_CHECK(cudaSetDevice(index)); }
Stream current_stream() { return t_current_stream; }
void set_current_stream(Stream s) { t_current_stream = s; }

Stream stream_create(int device) {
    require_cuda("stream_create");
    int prev = current_device();
    set_device(device);
    cudaStream_t s = nullptr;
    SEGCORE_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    set_device(prev);
    return Stream{s, device};
}
void stream_destroy(Stream s) noexcept {
    if (s.handle) SEGCORE_CUDA_CHECK_NOTHROW(cudaStreamDestroy(to_cuda(s.handle)));
}
void stream_synchronize(Stream s) { SEGCORE_CUDA_CHECK(cudaStreamSynchronize(to_cuda(s.handle))); }
void device_synchronize() { SEGCORE_CUDA_CHECK(cudaDeviceSynchronize()); }

Event::Event() {
    require_cuda("Event");
    cudaEvent_t e = nullptr;
    SEGCORE_CUDA_CHECK(cudaEventCreate(&e));
    handle_ = e;
}
Event::~Event() {
    if (handle_) SEGCORE_CUDA_CHECK_NOTHROW(cudaEventDestroy(static_cast<cudaEvent_t>(handle_)));
}
void Event::record(Stream s) { SEGCORE_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(handle_), to_cuda(s.handle))); }
void Event::synchronize() { SEGCORE_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(handle_))); }
bool Event::query() const {
    const cudaError_t e = cudaEventQuery(static_cast<cudaEvent_t>(handle_));
    if (e == cudaErrorNotReady) return false;
    SEGCORE_CUDA_CHECK(e);
    return true;
}
float Event::elapsed_ms(const Event& end) const {
    float ms = 0;
    SEGCORE_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(handle_), static_cast<cudaEvent_t>(end.handle_)));
    return ms;
}

bool sync_after_launch() {
    int v = g_sync_launches.load(std::memory_order_relaxed);
    if (v < 0) {
        const char* env = std::getenv("SEGCORE_SYNC_LAUNCHES");
        v = env && env[0] == '1' ? 1 : 0;
        g_sync_launches.store(v);
    }
    return v == 1;
}
void set_sync_after_launch(bool on) { g_sync_launches.store(on ? 1 : 0); }

namespace detail {
void cuda_launch_check(const char* file, int line) {
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess && sync_after_launch()) e = cudaDeviceSynchronize();
    if (e != cudaSuccess)
        throw_error(file, line, concat("CUDA kernel launch failed: ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")"));
}

const char* cublas_status_name(cublasStatus_t s) {
    switch (s) {
        case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
        case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
        case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
        case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
        case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
        case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
        case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
        case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
        default: return "CUBLAS_STATUS_UNKNOWN";
    }
}
}  // namespace detail

// ---- caching allocator over cudaMalloc ----
namespace {
// cudaMalloc and cudaDeviceSynchronize act on the calling thread's current device, which need
// not be the allocator's (cuda_allocate(n, 1) while device 0 is current): switch for the call.
class DeviceSwitch {
public:
    explicit DeviceSwitch(int device) {
        if (cudaGetDevice(&prev_) == cudaSuccess && prev_ != device && cudaSetDevice(device) == cudaSuccess)
            switched_ = true;
    }
    ~DeviceSwitch() {
        if (switched_) SEGCORE_CUDA_CHECK_NOTHROW(cudaSetDevice(prev_));
    }
    DeviceSwitch(const DeviceSwitch&) = delete;
    DeviceSwitch& operator=(const DeviceSwitch&) = delete;

private:
    int prev_ = 0;
    bool switched_ = false;
};

class CudaRawAllocator final : public RawAllocator {
public:
    explicit CudaRawAllocator(int device) : device_(device) {}
    void* raw_alloc(size_t nbytes) override {
        DeviceSwitch on(device_);
        void* p = nullptr;
        const cudaError_t e = cudaMalloc(&p, nbytes);
        if (e == cudaErrorMemoryAllocation) {
            cudaGetLastError();  // clear the error so the next launch check does not report it
            return nullptr;
        }
        SEGCORE_CUDA_CHECK(e);
        return p;
    }
    void raw_free(void* p) noexcept override {
        DeviceSwitch on(device_);
        SEGCORE_CUDA_CHECK_NOTHROW(cudaFree(p));
    }
    void synchronize() override {
        DeviceSwitch on(device_);
        SEGCORE_CUDA_CHECK(cudaDeviceSynchronize());
    }
    // record_stream's events: no timing (cheaper to record and query).
    uintptr_t record_event(uintptr_t stream) override {
        DeviceSwitch on(device_);
        cudaEvent_t e = nullptr;
        SEGCORE_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
        const cudaError_t r = cudaEventRecord(e, reinterpret_cast<cudaStream_t>(stream));
        if (r != cudaSuccess) {
            cudaEventDestroy(e);
            SEGCORE_CUDA_CHECK(r);
        }
        return reinterpret_cast<uintptr_t>(e);
    }
    bool event_done(uintptr_t event) override {
        const cudaError_t e = cudaEventQuery(reinterpret_cast<cudaEvent_t>(event));
        if (e == cudaErrorNotReady) {
            cudaGetLastError();  // as PyTorch does: keep the not-ready status out of the next launch check
            return false;
        }
        SEGCORE_CUDA_CHECK(e);
        return true;
    }
    void destroy_event(uintptr_t event) noexcept override {
        DeviceSwitch on(device_);
        SEGCORE_CUDA_CHECK_NOTHROW(cudaEventDestroy(reinterpret_cast<cudaEvent_t>(event)));
    }
    std::string name() const override { return "cuda:" + std::to_string(device_); }

private:
    int device_;
};

struct DeviceAllocator {
    explicit DeviceAllocator(int d) : raw(d), caching(&raw) {}
    CudaRawAllocator raw;
    CachingAllocator caching;
};

DeviceAllocator& device_allocator(int device) {
    static std::mutex mu;
    // Never destroyed: tensors with static lifetime may free into it during exit.
    static auto* allocators = new std::map<int, std::unique_ptr<DeviceAllocator>>();
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = (*allocators)[device];
    if (!slot) slot = std::make_unique<DeviceAllocator>(device);
    return *slot;
}

std::mutex g_owner_mu;
std::map<void*, int>& owners() {
    static auto* m = new std::map<void*, int>();
    return *m;
}
}  // namespace

void* cuda_allocate(size_t nbytes, int device) {
    require_cuda("cuda_allocate");
    SEGCORE_CHECK(device >= 0 && device < cuda_device_count(), "cuda_allocate: device ", device,
                  " does not exist (", cuda_device_count(), " visible)");
    const Stream s = current_stream();
    void* p = device_allocator(device).caching.allocate(nbytes, reinterpret_cast<uintptr_t>(s.handle));
    std::lock_guard<std::mutex> lock(g_owner_mu);
    owners()[p] = device;
    return p;
}

void cuda_deallocate(void* p) noexcept {
    if (!p) return;
    int device = 0;
    {
        std::lock_guard<std::mutex> lock(g_owner_mu);
        auto it = owners().find(p);
        if (it == owners().end()) return;
        device = it->second;
        owners().erase(it);
    }
    device_allocator(device).caching.deallocate(p);
}

void cuda_record_stream(void* p, Stream s) {
    if (!p) return;
    int device = 0;
    {
        std::lock_guard<std::mutex> lock(g_owner_mu);
        auto it = owners().find(p);
        if (it == owners().end()) return;  // not from the caching allocator (e.g. from_blob)
        device = it->second;
    }
    SEGCORE_CHECK(s.device == device, "record_stream: the stream is on cuda:", s.device, " but the memory on cuda:",
                  device);
    device_allocator(device).caching.record_stream(p, reinterpret_cast<uintptr_t>(s.handle));
}

AllocatorStats cuda_allocator_stats(int device) { return device_allocator(device).caching.stats(); }
void cuda_empty_cache(int device) { device_allocator(device).caching.empty_cache(); }
void cuda_reset_peak_stats(int device) { device_allocator(device).caching.reset_peak(); }

// ---- pinned host memory ----
// cudaHostAlloc needs a device; on a machine without one (a CUDA build on a CPU box) fall back to
// aligned host memory. The choice is fixed per process (cuda_device_count is cached), so
// pinned_deallocate always frees with the matching call.
void* pinned_allocate(size_t nbytes) {
    if (cuda_device_count() == 0) {
        const size_t rounded = (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
        void* p = std::aligned_alloc(kCpuAlignment, rounded ? rounded : kCpuAlignment);
        SEGCORE_CHECK(p, "pinned_allocate: out of host memory allocating ", bytes_str(int64_t(nbytes)));
        return p;
    }
    void* p = nullptr;
    const cudaError_t e = cudaHostAlloc(&p, nbytes ? nbytes : 1, cudaHostAllocDefault);
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        SEGCORE_THROW("pinned_allocate: cudaHostAlloc could not pin ", bytes_str(int64_t(nbytes)),
                      " of host memory (page-locked memory is limited; lower the prefetch depth)");
    }
    SEGCORE_CUDA_CHECK(e);
    return p;
}
void pinned_deallocate(void* p) noexcept {
    if (!p) return;
    if (cuda_device_count() == 0) {
        std::free(p);
        return;
    }
    SEGCORE_CUDA_CHECK_NOTHROW(cudaFreeHost(p));
}

// ---- cuBLAS handles: one per thread and device (handles are not thread-safe) ----
cublasHandle_t cublas_handle() {
    thread_local std::map<int, cublasHandle_t> handles;
    const int d = current_device();
    auto& h = handles[d];
    if (!h) {
        SEGCORE_CUBLAS_CHECK(cublasCreate(&h));
        // Tensor-op math for f16/bf16 GEMMs; f32 GEMMs stay full precision (no TF32) by default.
        // DISALLOW_REDUCED_PRECISION_REDUCTION: without it cuBLAS may combine split-K partial sums
        // of an f16/bf16 GEMM in the output type, breaking the f32 accumulation gemm.h promises.
        SEGCORE_CUBLAS_CHECK(cublasSetMathMode(
            h, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
    }
    SEGCORE_CUBLAS_CHECK(cublasSetStream(h, to_cuda(current_stream().handle)));
    return h;
}

}  // namespace segcore
