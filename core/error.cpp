#include "core/error.h"

#include <cstdio>

namespace segcore {

static std::string location(const char* file, int line) {
    std::string f = file ? file : "?";
    // Keep paths short and stable: strip everything before the repository-rooted folder.
    for (const char* root : {"/core/", "/kernels/", "/autograd/", "/nn/", "/seg/", "/data/", "/apps/"}) {
        auto pos = f.rfind(root);
        if (pos != std::string::npos) { f = f.substr(pos + 1); break; }
    }
    return f + ":" + std::to_string(line);
}

Error::Error(const std::string& what, const char* file, int line)
    : std::runtime_error(what + " (" + location(file, line) + ")"), message_(what), file_(file), line_(line) {}

namespace detail {
void throw_error(const char* file, int line, const std::string& msg) { throw Error(msg, file, line); }
void throw_oom(const char* file, int line, const std::string& msg) { throw OutOfMemoryError(msg, file, line); }
void log_error(const char* file, int line, const std::string& msg) noexcept {
    std::fprintf(stderr, "segcore: error ignored in a noexcept path: %s (%s)\n", msg.c_str(),
                 location(file, line).c_str());
}
}  // namespace detail

}  // namespace segcore
