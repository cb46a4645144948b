#pragma once
// segcore::Error and the check macros. Library code throws; only apps/ turns errors into exit codes.
// Every message says what was expected and what was found, and carries file:line.
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace segcore {

class Error : public std::runtime_error {
public:
    Error(const std::string& what, const char* file, int line);
    const std::string& message() const { return message_; }  // without the file:line prefix
    const char* file() const { return file_; }
    int line() const { return line_; }

private:
    std::string message_;
    const char* file_;
    int line_;
};

// Thrown when a device allocation fails even after the allocator released its cache.
class OutOfMemoryError : public Error {
public:
    using Error::Error;
};

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}
[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);
[[noreturn]] void throw_oom(const char* file, int line, const std::string& msg);
// For destructors and other noexcept paths: log to stderr instead of throwing.
void log_error(const char* file, int line, const std::string& msg) noexcept;
}  // namespace detail

}  // namespace segcore

#define SEGCORE_THROW(...) ::segcore::detail::throw_error(__FILE__, __LINE__, ::segcore::detail::concat(__VA_ARGS__))

// SEGCORE_CHECK(cond, "expected ..., got ", x): throws segcore::Error when cond is false.
#define SEGCORE_CHECK(cond, ...)                                                                        \
    do {                                                                                                \
        if (!(cond)) [[unlikely]]                                                                       \
            ::segcore::detail::throw_error(__FILE__, __LINE__, ::segcore::detail::concat(__VA_ARGS__)); \
    } while (0)

// Internal invariant (a bug in segcore, not bad user input).
#define SEGCORE_ASSERT(cond)                                                                            \
    do {                                                                                                \
        if (!(cond)) [[unlikely]]                                                                       \
            ::segcore::detail::throw_error(__FILE__, __LINE__, "internal error: assertion '" #cond "' failed"); \
    } while (0)
