#include "data/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "core/error.h"

namespace segcore::data {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

std::string parent_of(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

// Closes a file descriptor on scope exit (errors on the read path are irrelevant once we throw).
struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, int64_t max_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    SEGCORE_CHECK(fd >= 0, "cannot open '", path, "': ", errno_text(errno));
    FdCloser closer{fd};
    struct stat st {};
    SEGCORE_CHECK(::fstat(fd, &st) == 0, "cannot stat '", path, "': ", errno_text(errno));
    SEGCORE_CHECK(S_ISREG(st.st_mode), "'", path, "' is not a regular file");
    SEGCORE_CHECK(int64_t(st.st_size) <= max_bytes, "'", path, "' is ", int64_t(st.st_size),
                  " bytes, more than the limit of ", max_bytes);
    std::vector<uint8_t> bytes(size_t(st.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        SEGCORE_CHECK(n >= 0, "cannot read '", path, "': ", errno_text(errno));
        if (n == 0) break;  // the file shrank while we read it
        done += size_t(n);
    }
    bytes.resize(done);
    return bytes;
}

void write_file_atomic(const std::string& path, const void* bytes, size_t size) {
    // pid + a process-wide counter: two threads writing the same path never share a temp file.
    static std::atomic<uint64_t> counter{0};
    const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    SEGCORE_CHECK(fd >= 0, "cannot write '", path, "': cannot create the temporary file '", tmp,
                  "': ", errno_text(errno));
    try {
        const auto* p = static_cast<const uint8_t*>(bytes);
        size_t done = 0;
        while (done < size) {
            const ssize_t n = ::write(fd, p + done, size - done);
            if (n < 0 && errno == EINTR) continue;
            SEGCORE_CHECK(n > 0, "cannot write '", path, "': ", errno_text(errno));
            done += size_t(n);
        }
        SEGCORE_CHECK(::fsync(fd) == 0, "cannot write '", path, "': fsync failed: ", errno_text(errno));
        const int rc = ::close(fd);
        fd = -1;
        SEGCORE_CHECK(rc == 0, "cannot write '", path, "': close failed: ", errno_text(errno));
        SEGCORE_CHECK(::rename(tmp.c_str(), path.c_str()) == 0, "cannot rename '", tmp, "' over '", path,
                      "': ", errno_text(errno));
    } catch (...) {
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    // The data is safe either way (old or new file); syncing the folder makes the rename durable.
    const int dfd = ::open(parent_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

std::string join_path(const std::string& base, const std::string& rel) {
    if (rel.empty()) return base;
    if (base.empty() || rel.front() == '/') return rel;
    if (base.back() == '/') return base + rel;
    return base + "/" + rel;
}

namespace {

using FolderId = std::pair<dev_t, ino_t>;

void list_folder_into(const std::string& dir, const std::string& rel, bool recursive, std::set<FolderId>& seen,
                      std::vector<std::string>& out) {
    const std::string path = join_path(dir, rel);
    DIR* d = ::opendir(path.c_str());
    SEGCORE_CHECK(d != nullptr, "cannot list the folder '", path, "': ", errno_text(errno));
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    // readdir's order is arbitrary; sorted, the first of two names for one folder is the one walked.
    std::sort(names.begin(), names.end());
    std::vector<std::string> folders;
    for (const std::string& name : names) {
        const std::string child = rel.empty() ? name : rel + "/" + name;
        struct stat st {};
        // stat follows symlinks: a link to a folder is a folder; one that resolves to nothing
        // (dangling, a loop) fails here and is listed as a file, to be reported when it is read.
        if (::stat(join_path(dir, child).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            if (recursive && seen.insert({st.st_dev, st.st_ino}).second) folders.push_back(child);
            continue;
        }
        out.push_back(child);
    }
    for (const std::string& f : folders) list_folder_into(dir, f, recursive, seen, out);
}

}  // namespace

std::vector<std::string> list_folder_files(const std::string& dir, bool recursive) {
    struct stat st {};
    SEGCORE_CHECK(::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode), "'", dir, "' is not a folder");
    std::set<FolderId> seen{{st.st_dev, st.st_ino}};
    std::vector<std::string> out;
    list_folder_into(dir, "", recursive, seen, out);
    std::sort(out.begin(), out.end());
    return out;
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool directory_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace segcore::data
