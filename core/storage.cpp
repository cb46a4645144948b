#include "core/storage.h"

#include "core/allocator.h"
#include "core/error.h"

namespace segcore {

StorageImpl::StorageImpl(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
    if (nbytes == 0) return;
    data_ = device.is_cpu() ? cpu_allocate(nbytes) : cuda_allocate(nbytes, device.index);
}

StorageImpl::StorageImpl(void* data, size_t nbytes, Device device, std::function<void(void*)> release)
    : data_(data), nbytes_(nbytes), device_(device), owned_(false), release_(std::move(release)) {}

StorageImpl::~StorageImpl() {
    if (!owned_) {
        if (release_) {
            try {
                release_(data_);
            } catch (const std::exception& e) {
                detail::log_error(__FILE__, __LINE__, e.what());
            }
        }
        return;
    }
    if (!data_) return;
    if (device_.is_cpu())
        cpu_deallocate(data_, nbytes_);
    else
        cuda_deallocate(data_);
}

}  // namespace segcore
