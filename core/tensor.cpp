#include "core/tensor.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/allocator.h"
#include "core/copy.h"
#include "core/error.h"

namespace segcore {

Tensor::Tensor(Storage storage, int64_t offset, Shape shape, Strides strides, DType dtype)
    : storage_(std::move(storage)), offset_(offset), shape_(std::move(shape)), strides_(std::move(strides)), dtype_(dtype) {
    SEGCORE_ASSERT(shape_.size() == strides_.size());
    SEGCORE_CHECK(shape_.size() <= size_t(kMaxDims), "tensors have at most ", kMaxDims, " dimensions, got shape ",
                  shape_str(shape_));
    for (int64_t s : shape_) SEGCORE_CHECK(s >= 0, "negative size in shape ", shape_str(shape_));
}

int64_t Tensor::size(int64_t d) const { return shape_[size_t(wrap_dim(d, dim(), "size"))]; }
int64_t Tensor::stride(int64_t d) const { return strides_[size_t(wrap_dim(d, dim(), "stride"))]; }

bool Tensor::is_contiguous() const {
    int64_t expected = 1;
    for (size_t i = shape_.size(); i-- > 0;) {
        if (shape_[i] == 1) continue;
        if (strides_[i] != expected) return false;
        expected *= shape_[i];
    }
    return true;
}

void* Tensor::data_ptr() const {
    SEGCORE_CHECK(defined(), "data_ptr() of an undefined tensor");
    return static_cast<char*>(storage_->data()) + offset_ * int64_t(element_size());
}

void Tensor::check_type(DType expected, const char* what) const {
    SEGCORE_CHECK(dtype_ == expected, what, ": expected dtype ", dtype_name(expected), ", got ", dtype_name(dtype_));
}

// ---------------------------------------------------------------- views

static Shape infer_size(const Shape& shape, int64_t numel) {
    Shape out = shape;
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < out.size(); ++i) {
        if (out[i] == -1) {
            SEGCORE_CHECK(infer < 0, "view/reshape: only one dimension can be -1, got ", shape_str(shape));
            infer = int64_t(i);
        } else {
            SEGCORE_CHECK(out[i] >= 0, "view/reshape: invalid size ", out[i], " in ", shape_str(shape));
            known *= out[i];
        }
    }
    if (infer >= 0) {
        SEGCORE_CHECK(known != 0 && numel % known == 0, "view/reshape: shape ", shape_str(shape),
                      " is invalid for a tensor of ", numel, " elements");
        out[size_t(infer)] = numel / known;
    }
    SEGCORE_CHECK(shape_numel(out) == numel, "view/reshape: shape ", shape_str(shape), " is invalid for a tensor of ",
                  numel, " elements");
    return out;
}

// Strides for viewing (shape, strides) as new_shape without copying, or empty if impossible
// (the algorithm of ATen's computeStride: each run of old dims that is contiguous in memory may
// be re-split freely).
static bool view_strides(const Shape& shape, const Strides& strides, const Shape& new_shape, Strides& out) {
    out.assign(new_shape.size(), 0);
    // A 0-dim tensor (one element) or an empty one has no memory order to preserve.
    if (shape.empty() || shape_numel(shape) == 0) {
        out = contiguous_strides(new_shape);
        return true;
    }
    int64_t view_d = int64_t(new_shape.size()) - 1;
    int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
    int64_t tensor_numel = 1, view_numel = 1;
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
        tensor_numel *= shape[size_t(d)];
        if (d == 0 || (shape[size_t(d - 1)] != 1 && strides[size_t(d - 1)] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || new_shape[size_t(view_d)] == 1)) {
                out[size_t(view_d)] = view_numel * chunk_base_stride;
                view_numel *= new_shape[size_t(view_d)];
                view_d--;
            }
            if (view_numel != tensor_numel) return false;
            if (d > 0) {
                chunk_base_stride = strides[size_t(d - 1)];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}

Tensor Tensor::view(const Shape& shape) const {
    const Shape s = infer_size(shape, numel());
    Strides st;
    SEGCORE_CHECK(view_strides(shape_, strides_, s, st), "view: cannot view a tensor of shape ", shape_str(shape_),
                  " with strides ", shape_str(strides_), " as ", shape_str(s),
                  " without copying; call reshape() or contiguous() first");
    return Tensor(storage_, offset_, s, st, dtype_);
}

Tensor Tensor::reshape(const Shape& shape) const {
    const Shape s = infer_size(shape, numel());
    Strides st;
    if (view_strides(shape_, strides_, s, st)) return Tensor(storage_, offset_, s, st, dtype_);
    return contiguous().view(s);
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
    if (dim() == 0) return reshape({1});
    start = wrap_dim(start, dim(), "flatten");
    end = wrap_dim(end, dim(), "flatten");
    SEGCORE_CHECK(start <= end, "flatten: start dim ", start, " is after end dim ", end);
    Shape s(shape_.begin(), shape_.begin() + start);
    int64_t n = 1;
    for (int64_t d = start; d <= end; ++d) n *= shape_[size_t(d)];
    s.push_back(n);
    s.insert(s.end(), shape_.begin() + end + 1, shape_.end());
    return reshape(s);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
    SEGCORE_CHECK(int64_t(dims.size()) == dim(), "permute: expected ", dim(), " dims, got ", dims.size());
    Shape s(dims.size());
    Strides st(dims.size());
    std::vector<bool> seen(dims.size(), false);
    for (size_t i = 0; i < dims.size(); ++i) {
        const int64_t d = wrap_dim(dims[i], dim(), "permute");
        SEGCORE_CHECK(!seen[size_t(d)], "permute: dimension ", d, " appears twice");
        seen[size_t(d)] = true;
        s[i] = shape_[size_t(d)];
        st[i] = strides_[size_t(d)];
    }
    return Tensor(storage_, offset_, s, st, dtype_);
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
    std::vector<int64_t> dims(static_cast<size_t>(dim()));
    std::iota(dims.begin(), dims.end(), 0);
    std::swap(dims[size_t(wrap_dim(a, dim(), "transpose"))], dims[size_t(wrap_dim(b, dim(), "transpose"))]);
    return permute(dims);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
    d = wrap_dim(d, dim(), "narrow");
    const int64_t n = shape_[size_t(d)];
    if (start < 0) start += n;
    SEGCORE_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: range [", start, ", ", start + length,
                  ") is outside dimension ", d, " of size ", n);
    Shape s = shape_;
    s[size_t(d)] = length;
    return Tensor(storage_, offset_ + start * strides_[size_t(d)], s, strides_, dtype_);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
    d = wrap_dim(d, dim(), "slice");
    SEGCORE_CHECK(step > 0, "slice: step must be positive, got ", step);
    const int64_t n = shape_[size_t(d)];
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, start, n);
    Shape s = shape_;
    Strides st = strides_;
    s[size_t(d)] = (end - start + step - 1) / step;
    st[size_t(d)] *= step;
    return Tensor(storage_, offset_ + start * strides_[size_t(d)], s, st, dtype_);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
    d = wrap_dim(d, dim(), "select");
    const int64_t n = shape_[size_t(d)];
    SEGCORE_CHECK(index >= -n && index < n, "select: index ", index, " is out of range for dimension ", d,
                  " of size ", n);
    if (index < 0) index += n;
    Shape s = shape_;
    Strides st = strides_;
    s.erase(s.begin() + d);
    st.erase(st.begin() + d);
    return Tensor(storage_, offset_ + index * strides_[size_t(d)], s, st, dtype_);
}

Tensor Tensor::expand(const Shape& shape) const {
    SEGCORE_CHECK(shape.size() >= shape_.size(), "expand: cannot expand ", shape_str(shape_), " to fewer dims ",
                  shape_str(shape));
    const size_t lead = shape.size() - shape_.size();
    Shape s(shape.size());
    Strides st(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i < lead) {
            SEGCORE_CHECK(shape[i] >= 0, "expand: new leading dims need an explicit size, got ", shape_str(shape));
            s[i] = shape[i];
            st[i] = 0;
            continue;
        }
        const int64_t cur = shape_[i - lead];
        const int64_t want = shape[i] == -1 ? cur : shape[i];
        SEGCORE_CHECK(want == cur || cur == 1, "expand: cannot expand ", shape_str(shape_), " to ", shape_str(shape),
                      ": dimension ", i, " has size ", cur, " (only size-1 dims can be expanded)");
        s[i] = want;
        st[i] = want == cur ? strides_[i - lead] : 0;
    }
    return Tensor(storage_, offset_, s, st, dtype_);
}

Tensor Tensor::squeeze() const {
    Shape s;
    Strides st;
    for (size_t i = 0; i < shape_.size(); ++i)
        if (shape_[i] != 1) { s.push_back(shape_[i]); st.push_back(strides_[i]); }
    return Tensor(storage_, offset_, s, st, dtype_);
}

Tensor Tensor::squeeze(int64_t d) const {
    d = wrap_dim(d, dim(), "squeeze");
    if (shape_[size_t(d)] != 1) return *this;  // PyTorch semantics: no-op on a dim that is not 1
    Shape s = shape_;
    Strides st = strides_;
    s.erase(s.begin() + d);
    st.erase(st.begin() + d);
    return Tensor(storage_, offset_, s, st, dtype_);
}

Tensor Tensor::unsqueeze(int64_t d) const {
    d = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape s = shape_;
    Strides st = strides_;
    const int64_t stride = size_t(d) < shape_.size() ? shape_[size_t(d)] * strides_[size_t(d)] : 1;
    s.insert(s.begin() + d, 1);
    st.insert(st.begin() + d, stride);
    return Tensor(storage_, offset_, s, st, dtype_);
}

Tensor Tensor::as_strided(const Shape& shape, const Strides& strides, int64_t offset) const {
    SEGCORE_CHECK(shape.size() == strides.size(), "as_strided: shape ", shape_str(shape), " and strides ",
                  shape_str(strides), " differ in length");
    int64_t hi = offset;
    for (size_t i = 0; i < shape.size(); ++i) {
        SEGCORE_CHECK(strides[i] >= 0, "as_strided: negative strides are not supported");
        if (shape[i] > 0) hi += (shape[i] - 1) * strides[i];
    }
    SEGCORE_CHECK(offset >= 0 && (shape_numel(shape) == 0 || (hi + 1) * int64_t(element_size()) <= int64_t(storage_->nbytes())),
                  "as_strided: the view reaches past the end of its storage");
    return Tensor(storage_, offset, shape, strides, dtype_);
}

// ---------------------------------------------------------------- copies

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
    Tensor out = empty(shape_, {dtype_, device()});
    out.copy_(*this);
    return out;
}

Tensor Tensor::to(Device d) const { return to(d, dtype_); }
Tensor Tensor::to(DType t) const { return to(device(), t); }
Tensor Tensor::to(Device d, DType t) const {
    if (d == device() && t == dtype_) return *this;
    Tensor out = empty(shape_, {t, d});
    out.copy_(*this);
    return out;
}

Tensor& Tensor::copy_(const Tensor& src_in) {
    SEGCORE_CHECK(defined() && src_in.defined(), "copy_: undefined tensor");
    const Tensor src = src_in.expand(shape_);
    if (numel() == 0) return *this;
    if (device() == src.device()) {
        const auto g = make_geometry<2>(shape_, {&strides_, &src.strides_});
        if (is_cpu()) {
            copy_cpu(g, dtype_, data_ptr(), src.dtype_, src.data_ptr());
        } else {
#if SEGCORE_WITH_CUDA
            copy_cuda(g, dtype_, data_ptr(), src.dtype_, src.data_ptr(), current_stream());
#endif
        }
        return *this;
    }
    // Across devices: convert and pack on the source side, move the bytes, then place them.
    require_cuda("copy_ between devices");
#if SEGCORE_WITH_CUDA
    const Tensor packed = src.to(src.device(), dtype_).contiguous();
    Tensor staging = is_contiguous() ? *this : empty(shape_, {dtype_, device()});
    if (src.is_cpu() && is_cuda()) {
        memcpy_to_device(staging.data_ptr(), packed.data_ptr(), nbytes(), current_stream());
    } else if (src.is_cuda() && is_cpu()) {
        memcpy_to_host(staging.data_ptr(), packed.data_ptr(), nbytes(), current_stream());
    } else {
        // cuda:i -> cuda:j. cudaMemcpy with unified addressing handles peer copies.
        memcpy_device(staging.data_ptr(), packed.data_ptr(), nbytes(), current_stream());
    }
    if (!staging.shares_storage(*this) || staging.offset_ != offset_) copy_(staging);
#endif
    return *this;
}

void Tensor::record_stream(Stream s) const {
    SEGCORE_CHECK(defined(), "record_stream: undefined tensor");
    if (is_cpu() || !storage_->data()) return;  // CPU memory has no streams; empty storage has no block
    SEGCORE_CHECK(s.device == device().index, "record_stream: the stream is on cuda:", s.device, " but the tensor on ",
                  device().str());
    cuda_record_stream(storage_->data(), s);  // the block starts at the storage base, not at offset_
}

Tensor& Tensor::fill_(double value) {
    SEGCORE_CHECK(defined(), "fill_: undefined tensor");
    if (numel() == 0) return *this;
    const auto g = make_geometry<1>(shape_, {&strides_});
    if (is_cpu()) {
        fill_cpu(g, dtype_, data_ptr(), value);
    } else {
#if SEGCORE_WITH_CUDA
        fill_cuda(g, dtype_, data_ptr(), value, current_stream());
#endif
    }
    return *this;
}

double Tensor::get_double(int64_t flat) const {
    SEGCORE_CHECK(is_cpu(), "get_double: the tensor is on ", device().str(), "; call cpu() first");
    SEGCORE_CHECK(flat >= 0 && flat < numel(), "get_double: index ", flat, " out of range for ", numel(), " elements");
    int64_t off = 0, rem = flat;
    for (size_t d = shape_.size(); d-- > 0;) {
        off += (rem % shape_[d]) * strides_[d];
        rem /= shape_[d];
    }
    return visit_dtype(dtype_, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T v = static_cast<const T*>(data_ptr())[off];
        if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) return double(float(v));
        else return double(v);
    });
}

double Tensor::item_double() const {
    SEGCORE_CHECK(numel() == 1, "item(): expected a one-element tensor, got shape ", shape_str(shape_));
    return cpu().get_double(0);
}

template <typename T>
T Tensor::item() const {
    return T(item_double());
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int32_t Tensor::item<int32_t>() const;
template int64_t Tensor::item<int64_t>() const;
template bool Tensor::item<bool>() const;

// ---------------------------------------------------------------- factories

Tensor empty(const Shape& shape, TensorOptions opt) {
    for (int64_t s : shape) SEGCORE_CHECK(s >= 0, "empty: negative size in shape ", shape_str(shape));
    if (opt.device.is_cuda()) require_cuda("empty");
    const int64_t n = shape_numel(shape);
    auto storage = std::make_shared<StorageImpl>(size_t(n) * dtype_size(opt.dtype), opt.device);
    return Tensor(std::move(storage), 0, shape, contiguous_strides(shape), opt.dtype);
}
Tensor zeros(const Shape& shape, TensorOptions opt) { return full(shape, 0.0, opt); }
Tensor ones(const Shape& shape, TensorOptions opt) { return full(shape, 1.0, opt); }
Tensor full(const Shape& shape, double value, TensorOptions opt) {
    Tensor t = empty(shape, opt);
    t.fill_(value);
    return t;
}
Tensor empty_like(const Tensor& t) { return empty(t.shape(), {t.dtype(), t.device()}); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {t.dtype(), t.device()}); }

Tensor arange(double start, double end, double step, TensorOptions opt) {
    SEGCORE_CHECK(step != 0, "arange: step must be nonzero");
    const double len = std::ceil((end - start) / step);
    const int64_t n = len > 0 ? int64_t(len) : 0;
    // Built on the host (it is small and exact there), then moved.
    Tensor host = empty({n}, {DType::F64, Device::cpu()});
    double* p = host.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = start + double(i) * step;
    return host.to(opt.device, opt.dtype);
}
Tensor arange(int64_t end, TensorOptions opt) { return arange(0.0, double(end), 1.0, opt); }

Tensor empty_pinned(const Shape& shape, DType dtype) {
    for (int64_t s : shape) SEGCORE_CHECK(s >= 0, "empty_pinned: negative size in shape ", shape_str(shape));
    const size_t nbytes = size_t(shape_numel(shape)) * dtype_size(dtype);
    void* p = nbytes ? pinned_allocate(nbytes) : nullptr;
    auto storage = std::make_shared<StorageImpl>(p, nbytes, Device::cpu(), [](void* q) { pinned_deallocate(q); });
    return Tensor(std::move(storage), 0, shape, contiguous_strides(shape), dtype);
}

Tensor from_blob(void* data, const Shape& shape, TensorOptions opt) {
    const int64_t n = shape_numel(shape);
    auto storage = std::make_shared<StorageImpl>(data, size_t(n) * dtype_size(opt.dtype), opt.device, nullptr);
    return Tensor(std::move(storage), 0, shape, contiguous_strides(shape), opt.dtype);
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
    SEGCORE_CHECK(int64_t(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
                  " values do not fill shape ", shape_str(shape));
    Tensor host = empty(shape, {dtype_of<T>, Device::cpu()});
    std::copy(values.begin(), values.end(), host.data<T>());
    return host.to(device);
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, Device);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, Device);
template Tensor from_vector<Half>(const std::vector<Half>&, const Shape&, Device);
template Tensor from_vector<BFloat16>(const std::vector<BFloat16>&, const Shape&, Device);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&, Device);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, Device);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&, Device);

// ---------------------------------------------------------------- random

Generator& default_generator() {
    static Generator g;
    return g;
}
void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

static Tensor& random_fill(Tensor& t, const RandomParams& p_in, Generator* gen) {
    Generator& g = gen ? *gen : default_generator();
    RandomParams p = p_in;
    p.seed = g.seed();
    p.offset = g.advance(uint64_t(t.numel()));
    if (t.numel() == 0) return t;
    const auto geo = make_geometry<1>(t.shape(), {&t.strides()});
    if (t.is_cpu()) {
        random_cpu(geo, t.dtype(), t.data_ptr(), p);
    } else {
#if SEGCORE_WITH_CUDA
        random_cuda(geo, t.dtype(), t.data_ptr(), p, current_stream());
#endif
    }
    return t;
}

Tensor& uniform_(Tensor& t, double low, double high, Generator* gen) {
    SEGCORE_CHECK(is_floating(t.dtype()), "uniform_: expected a floating-point tensor, got ", dtype_name(t.dtype()));
    SEGCORE_CHECK(low <= high, "uniform_: low ", low, " is greater than high ", high);
    return random_fill(t, {RandomKind::Uniform, 0, 0, low, high}, gen);
}
Tensor& normal_(Tensor& t, double mean, double stddev, Generator* gen) {
    SEGCORE_CHECK(is_floating(t.dtype()), "normal_: expected a floating-point tensor, got ", dtype_name(t.dtype()));
    SEGCORE_CHECK(stddev >= 0, "normal_: stddev must be non-negative, got ", stddev);
    return random_fill(t, {RandomKind::Normal, 0, 0, mean, stddev}, gen);
}
Tensor rand(const Shape& shape, TensorOptions opt, Generator* gen) {
    Tensor t = empty(shape, opt);
    return uniform_(t, 0.0, 1.0, gen);
}
Tensor randn(const Shape& shape, TensorOptions opt, Generator* gen) {
    Tensor t = empty(shape, opt);
    return normal_(t, 0.0, 1.0, gen);
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opt, Generator* gen) {
    SEGCORE_CHECK(low < high, "randint: expected low < high, got [", low, ", ", high, ")");
    Tensor t = empty(shape, opt);
    random_fill(t, {RandomKind::Integer, 0, 0, double(low), double(high)}, gen);
    return t;
}

}  // namespace segcore
