#pragma once
// Tensor: a typed, strided view of a Storage. Views (reshape, permute, narrow, expand, ...) share
// storage and cost nothing; contiguous(), to(), clone() copy. Sizes, strides and the storage
// offset count elements and are int64.
//
// Tensor-level math lives in kernels/ (segcore::ops); core provides only what a tensor needs to
// exist and move: allocation, views, copy/cast between devices and layouts, fill and random fill.
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "core/storage.h"
#include "core/stream.h"

namespace segcore {

class Generator;

class Tensor {
public:
    Tensor() = default;  // undefined: defined() == false
    Tensor(Storage storage, int64_t offset, Shape shape, Strides strides, DType dtype);

    bool defined() const { return storage_ != nullptr; }
    DType dtype() const { return dtype_; }
    Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
    bool is_cuda() const { return device().is_cuda(); }
    bool is_cpu() const { return device().is_cpu(); }
    const Shape& shape() const { return shape_; }
    const Strides& strides() const { return strides_; }
    int64_t dim() const { return int64_t(shape_.size()); }
    int64_t size(int64_t d) const;
    int64_t stride(int64_t d) const;
    int64_t numel() const { return shape_numel(shape_); }
    int64_t offset() const { return offset_; }
    size_t element_size() const { return dtype_size(dtype_); }
    int64_t nbytes() const { return numel() * int64_t(element_size()); }
    bool is_contiguous() const;
    const Storage& storage() const { return storage_; }
    bool shares_storage(const Tensor& o) const { return storage_ && storage_ == o.storage_; }

    // Pointer to the first element (storage base + offset). data<T>() checks that T matches dtype.
    void* data_ptr() const;
    template <typename T> T* data() const {
        check_type(dtype_of<T>, "data<T>()");
        return static_cast<T*>(data_ptr());
    }
    // The value of a one-element tensor, converted to T (copies from the device if needed).
    template <typename T> T item() const;
    double item_double() const;

    // ---- views: share storage ----
    Tensor view(const Shape& shape) const;     // requires compatible strides; one size may be -1
    Tensor reshape(const Shape& shape) const;  // a view when possible, else a contiguous copy
    Tensor flatten(int64_t start = 0, int64_t end = -1) const;
    Tensor permute(const std::vector<int64_t>& dims) const;
    Tensor transpose(int64_t a, int64_t b) const;
    Tensor t() const { return transpose(0, 1); }
    Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
    Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;  // Python-style bounds
    Tensor select(int64_t dim, int64_t index) const;  // removes dim
    Tensor expand(const Shape& shape) const;           // -1 keeps a size; new leading dims allowed
    Tensor broadcast_to(const Shape& shape) const { return expand(shape); }
    Tensor squeeze() const;
    Tensor squeeze(int64_t dim) const;
    Tensor unsqueeze(int64_t dim) const;
    Tensor as_strided(const Shape& shape, const Strides& strides, int64_t offset) const;

    // ---- copies ----
    Tensor contiguous() const;  // *this when already contiguous
    Tensor clone() const;       // always a new contiguous tensor
    Tensor to(Device d) const;  // *this when already there
    Tensor to(DType t) const;   // *this when already that dtype
    Tensor to(Device d, DType t) const;
    Tensor cpu() const { return to(Device::cpu()); }
    Tensor cuda(int index = 0) const { return to(Device::cuda(index)); }
    // In-place: copies src into this tensor (broadcasting src, converting dtype, across devices).
    Tensor& copy_(const Tensor& src);
    Tensor& fill_(double value);
    Tensor& zero_() { return fill_(0.0); }

    // PyTorch's record_stream: tells the caching allocator that work queued on `s` uses this
    // tensor's memory, so when the last view goes away the block is not reused (on its allocation
    // stream) until that work has finished. Needed when a tensor allocated on one stream is used
    // by kernels on another. No-op for CPU tensors and for memory the allocator does not own
    // (from_blob); `s` must be on the tensor's device.
    void record_stream(Stream s) const;

    // Element accessors for tests and tools (slow; CPU tensors only). Index by flat logical position.
    double get_double(int64_t flat_index) const;

    std::string str() const;  // printing, PyTorch-like, summarised for large tensors
    std::string meta_str() const;  // "f32 (2, 3) cpu"

    void check_type(DType expected, const char* what) const;

private:
    Storage storage_;
    int64_t offset_ = 0;
    Shape shape_;
    Strides strides_;
    DType dtype_ = DType::F32;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- factories ----
struct TensorOptions {
    DType dtype = DType::F32;
    Device device = Device::cpu();
    TensorOptions() = default;
    TensorOptions(DType t) : dtype(t) {}              // NOLINT: empty({2}, DType::F16)
    TensorOptions(Device d) : device(d) {}            // NOLINT: empty({2}, Device::cuda())
    TensorOptions(DType t, Device d) : dtype(t), device(d) {}
};

Tensor empty(const Shape& shape, TensorOptions opt = {});
Tensor zeros(const Shape& shape, TensorOptions opt = {});
Tensor ones(const Shape& shape, TensorOptions opt = {});
Tensor full(const Shape& shape, double value, TensorOptions opt = {});
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
// [start, end) in steps; the length is ceil((end - start) / step).
Tensor arange(double start, double end, double step = 1.0, TensorOptions opt = {});
Tensor arange(int64_t end, TensorOptions opt = {DType::I64});
// A CPU tensor in pinned host memory (core/allocator.h): the source of asynchronous host-to-device
// copies. Ordinary CPU memory in a build or on a machine without CUDA.
Tensor empty_pinned(const Shape& shape, DType dtype = DType::F32);
// Wraps (does not copy) caller-owned memory; the caller keeps it alive.
Tensor from_blob(void* data, const Shape& shape, TensorOptions opt = {});
// Copies a host vector into a new tensor of the given shape (for tests and small constants).
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu());

// ---- random: Philox, identical numbers on CPU and CUDA for the same generator state ----
class Generator {
public:
    explicit Generator(uint64_t seed = 0x5eedc0deULL) : seed_(seed) {}
    void manual_seed(uint64_t seed) { seed_ = seed; offset_ = 0; }
    uint64_t seed() const { return seed_; }
    uint64_t offset() const { return offset_; }
    void set_offset(uint64_t o) { offset_ = o; }
    // Reserves `n` counters and returns the offset to use (thread-safe use needs one generator per thread).
    uint64_t advance(uint64_t n) { const uint64_t o = offset_; offset_ += n; return o; }

private:
    uint64_t seed_;
    uint64_t offset_ = 0;
};
Generator& default_generator();
void manual_seed(uint64_t seed);  // seeds the default generator

Tensor rand(const Shape& shape, TensorOptions opt = {}, Generator* gen = nullptr);   // U[0, 1)
Tensor randn(const Shape& shape, TensorOptions opt = {}, Generator* gen = nullptr);  // N(0, 1)
// Note: passing `{}` as opt means f32 (a default TensorOptions); omit it to get the i64 default.
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opt = {DType::I64},
               Generator* gen = nullptr);
// In-place versions (fill an existing tensor, any layout).
Tensor& uniform_(Tensor& t, double low, double high, Generator* gen = nullptr);
Tensor& normal_(Tensor& t, double mean, double stddev, Generator* gen = nullptr);

}  // namespace segcore
