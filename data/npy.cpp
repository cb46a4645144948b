// NumPy .npy writer (data/npy.h).
#include "data/npy.h"

#include <bit>
#include <cstring>

#include "core/error.h"
#include "data/file_util.h"

namespace segcore::data {

namespace {

// numpy's header dict for a C-order little-endian f32 array; the trailing ", " before '}' is
// what numpy itself writes.
std::string npy_header_dict(const std::vector<int64_t>& shape) {
    std::string s = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.size() == 1) s += ",";  // a 1-tuple in Python
    s += "), }";
    return s;
}

}  // namespace

std::vector<uint8_t> npy_encode_f32(const std::vector<int64_t>& shape, const float* values) {
    int64_t count = 1;
    for (int64_t d : shape) {
        SEGCORE_CHECK(d >= 0, "npy: negative dimension ", d, " in the shape");
        count *= d;
    }
    SEGCORE_CHECK(count == 0 || values != nullptr, "npy: no values for a shape of ", count, " elements");
    const std::string dict = npy_header_dict(shape);
    // Version 1.0 stores the header length in 2 bytes; only a header longer than that needs 2.0
    // (4 bytes), which older readers do not understand.
    constexpr size_t kAlign = 64, kMagicAndVersion = 8;
    size_t prefix = kMagicAndVersion + 2;
    size_t total = (prefix + dict.size() + 1 + kAlign - 1) / kAlign * kAlign;  // + 1: the '\n'
    const bool v2 = total - prefix > 65535;
    if (v2) {
        prefix = kMagicAndVersion + 4;
        total = (prefix + dict.size() + 1 + kAlign - 1) / kAlign * kAlign;
    }
    const size_t header_len = total - prefix;

    // Little-endian f32: the bytes as they are on the little-endian hosts segcore runs on, checked.
    static_assert(std::endian::native == std::endian::little, "npy writer assumes a little-endian host");
    const size_t data_bytes = size_t(count) * sizeof(float);
    std::vector<uint8_t> out(total + data_bytes, uint8_t(' '));  // the spaces are the header's padding
    std::memcpy(out.data(), "\x93NUMPY", 6);
    out[6] = v2 ? 2 : 1;  // major version
    out[7] = 0;           // minor version
    for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) out[8 + i] = uint8_t(header_len >> (8 * i));
    std::memcpy(out.data() + prefix, dict.data(), dict.size());
    out[total - 1] = uint8_t('\n');
    if (data_bytes > 0) std::memcpy(out.data() + total, values, data_bytes);
    return out;
}

void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* values) {
    const std::vector<uint8_t> bytes = npy_encode_f32(shape, values);
    write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace segcore::data
