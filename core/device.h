#pragma once
// Where a tensor lives. CUDA devices are numbered from 0.
#include <cstdint>
#include <string>

namespace segcore {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
    DeviceType type = DeviceType::CPU;
    int index = 0;

    static Device cpu() { return {DeviceType::CPU, 0}; }
    static Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
    static Device parse(const std::string& s);  // "cpu", "cuda", "cuda:1"

    bool is_cpu() const { return type == DeviceType::CPU; }
    bool is_cuda() const { return type == DeviceType::CUDA; }
    bool operator==(const Device& o) const { return type == o.type && (type == DeviceType::CPU || index == o.index); }
    bool operator!=(const Device& o) const { return !(*this == o); }
    std::string str() const;  // "cpu", "cuda:0"
};

// Whether this build has the CUDA backend compiled in (SEGCORE_CUDA at configure time).
bool cuda_compiled();
// Whether this build has cuDNN (found at configure time; optional).
bool cudnn_compiled();
// Number of visible CUDA devices; 0 in a CPU-only build or when no driver/device is present.
int cuda_device_count();
// Throws "this build has no CUDA backend" (CPU build) or "no CUDA device is visible".
void require_cuda(const char* what);

struct CudaDeviceInfo {
    int index = 0;
    std::string name;
    int major = 0, minor = 0;
    int multiprocessors = 0;
    int64_t total_memory = 0;
    int64_t l2_cache_bytes = 0;
    int memory_bus_width = 0;
};
CudaDeviceInfo cuda_device_info(int index);

}  // namespace segcore
