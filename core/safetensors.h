#pragma once
// The safetensors format (https://github.com/huggingface/safetensors), used for weights and
// checkpoints so they move between segcore and the PyTorch ecosystem:
//
//   8 bytes    N, the header length, unsigned little-endian
//   N bytes    JSON: {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//                     "__metadata__": {"key": "value", ...}}   (padded with spaces to a multiple of 8)
//   the rest   the data section; tensor bytes are row-major, little-endian, at [begin, end)
//              relative to the start of the data section
//
// dtypes: F32 F64 F16 BF16 I32 I64 U8 BOOL (the ones segcore has).
//
// Writing is atomic: the bytes go to "<path>.tmp.<pid>" in the same directory, which is fsynced
// and renamed over <path>, then the directory is fsynced. On any failure the temp file is removed
// and a file already at <path> is untouched, so a crash mid-save never costs the last checkpoint.
//
// Reading follows the reference implementation's rules and validates the whole header before
// touching the data: the header length fits the file and is at most 100 MB; the header is UTF-8
// JSON starting with '{' (trailing spaces allowed), nested at most kMaxJsonDepth levels, with no
// repeated name; known dtypes; dtype size x shape == end - begin for every tensor; sorted by
// offset, the tensors cover the data section exactly (first at 0, each where the previous ended,
// the last at the end of the file: no gap, overlap or trailing byte); metadata values are
// strings; BOOL bytes are 0 or 1. Anything else throws segcore::Error naming the file and the
// problem; a corrupt or truncated file never crashes (docs/file_formats.md).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace segcore {

// "F32", "BF16", "BOOL", ... and back (the latter throws naming the unsupported dtype).
const char* safetensors_dtype_name(DType t);
DType safetensors_dtype_from_name(const std::string& name);

// One tensor's header entry. begin/end are byte offsets into the data section.
struct SafetensorsEntry {
    std::string name;
    DType dtype = DType::F32;
    Shape shape;
    int64_t begin = 0, end = 0;
};

// Writes `tensors` (any device, dtype and layout: each is copied to the CPU and packed) in the
// given order, with `metadata` as "__metadata__". Names must be unique, non-empty and not
// "__metadata__".
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// A whole file in memory: CPU tensors in file order, plus the metadata.
struct SafetensorsFile {
    std::vector<std::pair<std::string, Tensor>> tensors;
    std::map<std::string, std::string> metadata;

    bool contains(const std::string& name) const;
    const Tensor& at(const std::string& name) const;  // throws naming the missing tensor
    std::vector<std::string> names() const;
};
SafetensorsFile load_safetensors(const std::string& path);

// Lazy access: the constructor reads and validates only the header; read(name) then reads that
// one tensor's bytes. Cheap for inspecting a checkpoint or loading a subset of a large one.
class SafetensorsReader {
public:
    explicit SafetensorsReader(const std::string& path);

    const std::string& path() const { return path_; }
    const std::vector<SafetensorsEntry>& entries() const { return entries_; }  // file order
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    bool contains(const std::string& name) const;
    const SafetensorsEntry& entry(const std::string& name) const;  // throws naming the missing tensor
    Tensor read(const std::string& name) const;                   // a new contiguous CPU tensor

private:
    std::string path_;
    std::vector<SafetensorsEntry> entries_;
    std::map<std::string, size_t> index_;
    std::map<std::string, std::string> metadata_;
    int64_t data_start_ = 0;  // file offset of the data section
};

}  // namespace segcore
