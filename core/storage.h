#pragma once
// Storage: one allocation on one device, shared by every tensor that views it.
#include <cstddef>
#include <functional>
#include <memory>

#include "core/device.h"

namespace segcore {

class StorageImpl {
public:
    // Allocates nbytes on the device (CPU: 64-byte aligned; CUDA: the caching allocator).
    StorageImpl(size_t nbytes, Device device);
    // Wraps memory the caller owns; `release` (may be empty) runs when the last view goes away.
    StorageImpl(void* data, size_t nbytes, Device device, std::function<void(void*)> release);
    ~StorageImpl();
    StorageImpl(const StorageImpl&) = delete;
    StorageImpl& operator=(const StorageImpl&) = delete;

    void* data() const { return data_; }
    size_t nbytes() const { return nbytes_; }
    Device device() const { return device_; }

private:
    void* data_ = nullptr;
    size_t nbytes_ = 0;
    Device device_;
    bool owned_ = true;
    std::function<void(void*)> release_;
};

using Storage = std::shared_ptr<StorageImpl>;

}  // namespace segcore
