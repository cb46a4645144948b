#include "seg/train/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/file_util.h"

namespace segcore::seg {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockName = ".segcore.lock";

std::string read_small(int fd) {
    char buf[256];
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string s(buf, size_t(n > 0 ? n : 0));
    while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
    return s;
}

// Whether process `pid` exists (EPERM: it does, owned by someone else).
bool process_alive(long pid) { return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM); }

// The whole text of a file ("" when it does not exist).
std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Keeps the complete lines (ending in '\n') for which keep(line, index) holds; rewrites the file
// atomically when something was dropped. Returns the number of lines dropped.
template <class Keep>
int64_t filter_lines(const fs::path& p, Keep keep) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return 0;
    const std::string text = slurp(p);
    std::string out;
    int64_t dropped = 0, index = 0;
    size_t start = 0;
    while (start < text.size()) {
        const size_t nl = text.find('\n', start);
        if (nl == std::string::npos) {  // the last line was cut short by a kill
            ++dropped;
            break;
        }
        const std::string line = text.substr(start, nl - start);
        if (keep(line, index++))
            out += line + '\n';
        else
            ++dropped;
        start = nl + 1;
    }
    if (dropped) data::write_file_atomic(p.string(), out.data(), out.size());
    return dropped;
}

}  // namespace

RunFolderLock::RunFolderLock(const std::string& dir, const std::string& command) {
    const std::string path = (fs::path(dir) / kLockName).string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    SEGCORE_CHECK(fd_ >= 0, "run folder ", dir, ": cannot open the lock file ", path, ": ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS) {  // a file system without locks
            std::fprintf(stderr, "segcore: warning: run folder %s: this file system cannot lock files (%s); make sure "
                         "no other process writes into it\n", dir.c_str(), std::strerror(err));
            return;
        }
        const std::string who = read_small(fd_);
        ::close(fd_);
        fd_ = -1;
        SEGCORE_CHECK(err == EWOULDBLOCK, "run folder ", dir, ": cannot lock ", path, ": ", std::strerror(err));
        SEGCORE_THROW("run folder ", dir, " is in use by another process (", who.empty() ? "pid unknown" : who,
                      "): two processes writing one run folder overwrite each other's checkpoints and logs. Wait ",
                      "for it to end, or choose another folder (--out DIR or --set checkpoint.dir=DIR)");
    }
    // Ours: say who holds it (for the message above). The lock itself is the flock, not the text.
    const std::string who = "pid " + std::to_string(::getpid()) + " (" + command + ")\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, who.data(), who.size(), 0) != ssize_t(who.size())) {
        // Only the message would suffer; the lock holds.
    }
}

RunFolderLock::~RunFolderLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
}

std::string RunFolderLock::holder(const std::string& dir) {
    const std::string path = (fs::path(dir) / kLockName).string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    // A shared lock is refused only while somebody holds the exclusive one.
    std::string who;
    if (::flock(fd, LOCK_SH | LOCK_NB) == 0) {
        ::flock(fd, LOCK_UN);
    } else if (errno == EWOULDBLOCK) {
        who = read_small(fd);
        if (who.empty()) who = "pid unknown";
    }
    ::close(fd);
    return who;
}

std::vector<std::string> remove_stale_temp_files(const std::string& dir) {
    // data::write_file_atomic: "<path>.tmp.<pid>.<n>"; safetensors: "<path>.tmp.<pid>".
    static const std::regex temp(R"(.+\.tmp\.([0-9]+)(\.[0-9]+)?)");
    std::vector<std::string> removed;
    for (const fs::path& folder : {fs::path(dir), fs::path(dir) / "checkpoints"}) {
        std::error_code ec;
        if (!fs::is_directory(folder, ec)) continue;
        for (const auto& e : fs::directory_iterator(folder, ec)) {
            std::smatch m;
            const std::string name = e.path().filename().string();
            if (!e.is_regular_file(ec) || !std::regex_match(name, m, temp)) continue;
            const long pid = std::strtol(m[1].str().c_str(), nullptr, 10);
            if (pid == long(::getpid()) || process_alive(pid)) continue;
            if (fs::remove(e.path(), ec)) removed.push_back(e.path().string());
        }
    }
    return removed;
}

int64_t truncate_run_logs(const std::string& dir, int64_t iter) {
    // log.jsonl: every record carries "iter"; a line that does not parse is a torn write.
    int64_t dropped = filter_lines(fs::path(dir) / "log.jsonl", [iter](const std::string& line, int64_t) {
        const nlohmann::json r = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!r.is_object()) return false;
        const auto it = r.find("iter");
        return it == r.end() || !it->is_number_integer() || it->get<int64_t>() <= iter;
    });
    // metrics.csv: the header, then rows whose second column is the iteration.
    dropped += filter_lines(fs::path(dir) / "metrics.csv", [iter](const std::string& line, int64_t index) {
        if (index == 0) return true;
        const size_t a = line.find(',');
        if (a == std::string::npos) return false;
        const size_t b = line.find(',', a + 1);
        const std::string cell = line.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
        int64_t v = 0;
        const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
        return ec == std::errc() && end == cell.data() + cell.size() && v <= iter;
    });
    return dropped;
}

void check_folder_writable(const std::string& dir, const std::string& what) {
    std::error_code ec;
    fs::path p = fs::absolute(dir, ec);
    // The nearest part of the path that exists decides: a folder we may write into, or not.
    while (!fs::exists(p, ec) && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();
    SEGCORE_CHECK(fs::is_directory(p, ec), what, ": ", dir, ": cannot be created: ", p.string(),
                  " is not a folder");
    SEGCORE_CHECK(::access(p.c_str(), W_OK | X_OK) == 0, what, ": ", dir, ": ", p.string(),
                  " is not writable (", std::strerror(errno), ")");
}

void create_folder(const std::string& dir, const std::string& what) {
    check_folder_writable(dir, what);
    try {
        fs::create_directories(dir);
    } catch (const fs::filesystem_error& e) {
        SEGCORE_THROW(what, ": ", dir, ": cannot create the folder: ", e.code().message());
    }
}

}  // namespace segcore::seg
