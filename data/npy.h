#pragma once
// NumPy .npy files (format 1.0; 2.0 when the header is too long for 1.0), so users who post-process
// in Python can `numpy.load` what `segcore predict --save-logits / --save-probs` writes:
//
//   "\x93NUMPY" major minor  header_len (u16 LE in 1.0, u32 LE in 2.0)  header  data
//   header = "{'descr': '<f4', 'fortran_order': False, 'shape': (K, H, W), }" padded with spaces
//            and ended by '\n' so that the data starts at a multiple of 64 bytes (numpy's rule,
//            which lets a reader memory-map the array aligned)
//   data   = the values in C order, little-endian f32
//
// Only what segcore needs: f32, C order. Spec: numpy.org/doc/stable/reference/generated/numpy.lib.format.html
#include <cstdint>
#include <string>
#include <vector>

namespace segcore::data {

// The whole .npy file of an f32 array of `shape` (values in C order; shape's product of them).
// A 1-element shape prints as "(n,)", an empty one as "()" (a scalar), as numpy writes them.
std::vector<uint8_t> npy_encode_f32(const std::vector<int64_t>& shape, const float* values);

// npy_encode_f32 written atomically (write_file_atomic): readers never see half a file.
void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* values);

}  // namespace segcore::data
