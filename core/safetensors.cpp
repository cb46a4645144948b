// safetensors reading and writing (core/safetensors.h).
#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/json_parse.h"

namespace segcore {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; a big-endian host would need byte swapping");

namespace {

using OrderedJson = nlohmann::ordered_json;

// The reference implementation refuses headers above 100 MB; so do we, before allocating.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

#define SAFETENSORS_FAIL(path, ...) SEGCORE_THROW("safetensors: ", path, ": ", __VA_ARGS__)
#define SAFETENSORS_CHECK(cond, path, ...) SEGCORE_CHECK(cond, "safetensors: ", path, ": ", __VA_ARGS__)

std::string errno_str(int e) { return std::string(std::strerror(e)); }

// Closes a file descriptor on scope exit.
struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

// Reads exactly n bytes at `offset`; returns the number read (short only at end of file).
int64_t pread_full(int fd, void* dst, int64_t n, int64_t offset, const std::string& path) {
    char* p = static_cast<char*>(dst);
    int64_t done = 0;
    while (done < n) {
        const ssize_t r = ::pread(fd, p + done, size_t(std::min<int64_t>(n - done, int64_t(1) << 30)), off_t(offset + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            SAFETENSORS_FAIL(path, "read failed: ", errno_str(errno));
        }
        if (r == 0) break;
        done += r;
    }
    return done;
}

void write_full(int fd, const void* src, size_t n, const std::string& path) {
    const char* p = static_cast<const char*>(src);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, std::min<size_t>(n, size_t(1) << 30));
        if (w < 0) {
            if (errno == EINTR) continue;
            SAFETENSORS_FAIL(path, "write failed: ", errno_str(errno));
        }
        p += w;
        n -= size_t(w);
    }
}

// A JSON value as a non-negative int64, or a message saying why not.
bool json_to_index(const OrderedJson& v, int64_t& out) {
    if (v.is_number_unsigned()) {
        const uint64_t u = v.get<uint64_t>();
        if (u > uint64_t(INT64_MAX)) return false;
        out = int64_t(u);
        return true;
    }
    if (v.is_number_integer()) {
        const int64_t i = v.get<int64_t>();
        if (i < 0) return false;
        out = i;
        return true;
    }
    return false;
}

// Parses and validates the header of the file open as `fd`; fills the reader's fields.
void parse_header(const std::string& path, int fd, std::vector<SafetensorsEntry>& entries,
                  std::map<std::string, std::string>& metadata, int64_t& data_start) {
    struct stat st {};
    SAFETENSORS_CHECK(::fstat(fd, &st) == 0, path, "cannot stat: ", errno_str(errno));
    SAFETENSORS_CHECK(S_ISREG(st.st_mode), path, "not a regular file");
    const uint64_t file_size = uint64_t(st.st_size);
    SAFETENSORS_CHECK(file_size >= 8, path, "file is ", file_size,
                      " bytes, shorter than the 8-byte header length (truncated or not a safetensors file)");

    unsigned char len_bytes[8];
    SAFETENSORS_CHECK(pread_full(fd, len_bytes, 8, 0, path) == 8, path, "file is truncated: cannot read the header length");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
    SAFETENSORS_CHECK(header_len <= file_size - 8, path, "header length ", header_len,
                      " is larger than the file allows (", file_size - 8,
                      " bytes after the length field): truncated or not a safetensors file");
    SAFETENSORS_CHECK(header_len <= kMaxHeaderBytes, path, "header length ", header_len, " exceeds the limit of ",
                      kMaxHeaderBytes, " bytes");
    SAFETENSORS_CHECK(header_len >= 2, path, "header length ", header_len, " is too small for a JSON object");

    std::string text(size_t(header_len), '\0');
    SAFETENSORS_CHECK(pread_full(fd, text.data(), int64_t(header_len), 8, path) == int64_t(header_len), path,
                      "file is truncated inside the header");
    data_start = int64_t(8 + header_len);
    const int64_t data_size = int64_t(file_size - 8 - header_len);

    // As the reference: the header is a JSON object and starts with '{' (trailing spaces pad it).
    SAFETENSORS_CHECK(text[0] == '{', path, "the header must start with '{' (a JSON object), got byte ",
                      int(uint8_t(text[0])), ": wrong header length or not a safetensors file");
    OrderedJson header;
    try {
        header = parse_ordered_json(text, "header");  // depth-limited; a repeated name is an error
    } catch (const Error& e) {
        SAFETENSORS_FAIL(path, e.message());
    }
    SAFETENSORS_CHECK(header.is_object(), path, "the header must be a JSON object, got ", header.type_name());

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const OrderedJson& v = it.value();
        if (name == "__metadata__") {
            SAFETENSORS_CHECK(v.is_object(), path, "__metadata__ must be an object of strings, got ", v.type_name());
            for (auto m = v.begin(); m != v.end(); ++m) {
                SAFETENSORS_CHECK(m.value().is_string(), path, "non-string metadata value for key '", m.key(), "' (",
                                  m.value().type_name(), "); __metadata__ values must be strings");
                metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        SAFETENSORS_CHECK(v.is_object(), path, "entry for tensor '", name, "' must be an object, got ", v.type_name());
        SafetensorsEntry e;
        e.name = name;

        const auto dt = v.find("dtype");
        SAFETENSORS_CHECK(dt != v.end() && dt->is_string(), path, "tensor '", name, "' has no string \"dtype\"");
        try {
            e.dtype = safetensors_dtype_from_name(dt->get<std::string>());
        } catch (const Error& err) {
            SAFETENSORS_FAIL(path, "tensor '", name, "': ", err.message());
        }

        const auto sh = v.find("shape");
        SAFETENSORS_CHECK(sh != v.end() && sh->is_array(), path, "tensor '", name, "' has no \"shape\" array");
        SAFETENSORS_CHECK(sh->size() <= size_t(kMaxDims), path, "tensor '", name, "' has ", sh->size(),
                          " dimensions; segcore supports at most ", kMaxDims);
        int64_t nbytes = int64_t(dtype_size(e.dtype));
        for (const auto& d : *sh) {
            int64_t s = 0;
            SAFETENSORS_CHECK(json_to_index(d, s), path, "tensor '", name, "' has an invalid shape ", json_excerpt(*sh),
                              " (sizes must be non-negative integers)");
            SAFETENSORS_CHECK(!__builtin_mul_overflow(nbytes, s, &nbytes), path, "tensor '", name, "' shape ",
                              json_excerpt(*sh), " overflows 64-bit byte counts");
            e.shape.push_back(s);
        }

        const auto off = v.find("data_offsets");
        SAFETENSORS_CHECK(off != v.end() && off->is_array() && off->size() == 2 && json_to_index((*off)[0], e.begin) &&
                              json_to_index((*off)[1], e.end),
                          path, "tensor '", name,
                          "' needs \"data_offsets\": [begin, end] with non-negative integers, got ",
                          off == v.end() ? std::string("nothing") : json_excerpt(*off));
        SAFETENSORS_CHECK(e.begin <= e.end, path, "tensor '", name, "' has data_offsets [", e.begin, ", ", e.end,
                          "] with begin after end");
        SAFETENSORS_CHECK(e.end - e.begin == nbytes, path, "tensor '", name, "': shape/offset mismatch: data_offsets [",
                          e.begin, ", ", e.end, "] span ", e.end - e.begin, " bytes but ", dtype_name(e.dtype), " ",
                          shape_str(e.shape), " needs ", nbytes);
        SAFETENSORS_CHECK(e.end <= data_size, path, "tensor '", name, "' data_offsets [", e.begin, ", ", e.end,
                          "] are out of range: the data section holds only ", data_size,
                          " bytes (file truncated?)");
        entries.push_back(std::move(e));
    }

    // As the reference implementation: sorted by offsets, the tensors tile the data section exactly,
    // from 0 to its end, with no gap, overlap or trailing byte. A header length that is off by a
    // few bytes shifts the data section and fails here instead of loading shifted weights.
    std::vector<const SafetensorsEntry*> order;
    for (const auto& e : entries) order.push_back(&e);
    std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) {
        return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
    });
    int64_t covered = 0;  // the data section is covered up to here
    const SafetensorsEntry* prev = nullptr;
    for (const SafetensorsEntry* e : order) {
        SAFETENSORS_CHECK(e->begin >= covered, path, "tensors '", prev->name, "' [", prev->begin, ", ", prev->end,
                          ") and '", e->name, "' [", e->begin, ", ", e->end, ") have overlapping data_offsets");
        SAFETENSORS_CHECK(e->begin == covered, path, "tensor '", e->name, "' begins at byte ", e->begin,
                          " of the data section, but the bytes before it end at ", covered, ": a gap of ",
                          e->begin - covered, " bytes (tensors must be stored back to back from byte 0)");
        covered = e->end;
        prev = e;
    }
    SAFETENSORS_CHECK(covered == data_size, path, "the data section holds ", data_size, " bytes but the tensors cover ",
                      covered, ": ", data_size - covered,
                      " unexpected trailing bytes (wrong header length, or data appended to the file)");
}

// Creates a missing-name error listing a few of the names that exist.
[[noreturn]] void throw_missing(const std::string& path, const std::string& name, const std::vector<std::string>& names) {
    std::string some;
    for (size_t i = 0; i < names.size() && i < 8; ++i) some += (i ? ", '" : "'") + names[i] + "'";
    if (names.size() > 8) some += ", ...";
    SAFETENSORS_FAIL(path, "no tensor named '", name, "' (the file has ", names.size(), " tensors",
                     names.empty() ? "" : ": ", some, ")");
}

std::string parent_dir(const std::string& path) {
    const std::filesystem::path p(path);
    const auto parent = p.parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

}  // namespace

// ---------------------------------------------------------------- dtypes

const char* safetensors_dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "F32";
        case DType::F64: return "F64";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
        case DType::I32: return "I32";
        case DType::I64: return "I64";
        case DType::U8: return "U8";
        case DType::Bool: return "BOOL";
    }
    SEGCORE_THROW("unknown dtype ", int(t));
}

DType safetensors_dtype_from_name(const std::string& name) {
    for (DType t : {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I32, DType::I64, DType::U8, DType::Bool})
        if (name == safetensors_dtype_name(t)) return t;
    SEGCORE_THROW("unknown or unsupported dtype '", name, "'; segcore reads F32, F64, F16, BF16, I32, I64, U8, BOOL");
}

// ---------------------------------------------------------------- reading

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
    Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    SAFETENSORS_CHECK(f.fd >= 0, path, "cannot open for reading: ", errno_str(errno));
    parse_header(path, f.fd, entries_, metadata_, data_start_);
    for (size_t i = 0; i < entries_.size(); ++i) index_[entries_[i].name] = i;
}

bool SafetensorsReader::contains(const std::string& name) const { return index_.count(name) != 0; }

const SafetensorsEntry& SafetensorsReader::entry(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) {
        std::vector<std::string> names;
        for (const auto& e : entries_) names.push_back(e.name);
        throw_missing(path_, name, names);
    }
    return entries_[it->second];
}

Tensor SafetensorsReader::read(const std::string& name) const {
    const SafetensorsEntry& e = entry(name);
    Tensor t = empty(e.shape, {e.dtype, Device::cpu()});
    const int64_t n = e.end - e.begin;
    if (n == 0) return t;
    // The file is reopened per read so a reader holds no descriptor between calls.
    Fd f(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    SAFETENSORS_CHECK(f.fd >= 0, path_, "cannot open for reading: ", errno_str(errno));
    const int64_t got = pread_full(f.fd, t.data_ptr(), n, data_start_ + e.begin, path_);
    SAFETENSORS_CHECK(got == n, path_, "data section is truncated: tensor '", name, "' needs ", n, " bytes at offset ",
                      e.begin, ", only ", got, " could be read");
    if (e.dtype == DType::Bool) {
        // Any byte other than 0/1 in a C++ bool is undefined behaviour: refuse it.
        const auto* b = static_cast<const uint8_t*>(t.data_ptr());
        for (int64_t i = 0; i < n; ++i)
            SAFETENSORS_CHECK(b[i] <= 1, path_, "tensor '", name, "' (BOOL) holds byte ", int(b[i]), " at element ", i,
                              "; expected 0 or 1");
    }
    return t;
}

bool SafetensorsFile::contains(const std::string& name) const {
    return std::any_of(tensors.begin(), tensors.end(), [&](const auto& p) { return p.first == name; });
}

const Tensor& SafetensorsFile::at(const std::string& name) const {
    for (const auto& [n, t] : tensors)
        if (n == name) return t;
    throw_missing("(loaded file)", name, names());
}

std::vector<std::string> SafetensorsFile::names() const {
    std::vector<std::string> out;
    for (const auto& p : tensors) out.push_back(p.first);
    return out;
}

SafetensorsFile load_safetensors(const std::string& path) {
    const SafetensorsReader reader(path);
    SafetensorsFile out;
    out.metadata = reader.metadata();
    for (const auto& e : reader.entries()) out.tensors.emplace_back(e.name, reader.read(e.name));
    return out;
}

// ---------------------------------------------------------------- writing

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    // Validate and build the header before creating any file.
    OrderedJson header = OrderedJson::object();
    if (!metadata.empty()) {
        OrderedJson m = OrderedJson::object();
        for (const auto& [k, v] : metadata) m[k] = v;
        header["__metadata__"] = std::move(m);
    }
    std::set<std::string> seen;
    int64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        SAFETENSORS_CHECK(!name.empty(), path, "cannot save a tensor with an empty name");
        SAFETENSORS_CHECK(name != "__metadata__", path, "'__metadata__' is reserved and cannot name a tensor");
        SAFETENSORS_CHECK(seen.insert(name).second, path, "duplicate tensor name '", name, "'");
        SAFETENSORS_CHECK(t.defined(), path, "tensor '", name, "' is undefined");
        const int64_t nbytes = t.nbytes();
        header[name] = {{"dtype", safetensors_dtype_name(t.dtype())},
                        {"shape", t.shape()},
                        {"data_offsets", {offset, offset + nbytes}}};
        offset += nbytes;
    }
    std::string text = header.dump();
    // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
    text.append((8 - text.size() % 8) % 8, ' ');
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; ++i) len_bytes[i] = uint8_t(uint64_t(text.size()) >> (8 * i));

    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    SAFETENSORS_CHECK(fd >= 0, path, "cannot create the temporary file '", tmp, "': ", errno_str(errno));
    try {
        write_full(fd, len_bytes, 8, path);
        write_full(fd, text.data(), text.size(), path);
        for (const auto& [name, t] : tensors) {
            if (t.numel() == 0) continue;
            // One tensor at a time, so a model on the GPU is never fully duplicated in host memory.
            const Tensor host = t.cpu().contiguous();
            write_full(fd, host.data_ptr(), size_t(host.nbytes()), path);
        }
        SAFETENSORS_CHECK(::fsync(fd) == 0, path, "fsync failed: ", errno_str(errno));
        const int rc = ::close(fd);
        fd = -1;
        SAFETENSORS_CHECK(rc == 0, path, "close failed: ", errno_str(errno));
        SAFETENSORS_CHECK(::rename(tmp.c_str(), path.c_str()) == 0, path, "cannot rename '", tmp, "' over it: ",
                          errno_str(errno));
    } catch (...) {
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    // The rename is durable only once the directory entry is on disk. The data is safe either way
    // (old or new file), so a directory that cannot be opened or synced is not an error.
    const int dfd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace segcore
