#include "core/device.h"

#include "core/error.h"

namespace segcore {

Device Device::parse(const std::string& s) {
    if (s == "cpu") return cpu();
    if (s == "cuda") return cuda(0);
    if (s.rfind("cuda:", 0) == 0) {
        try {
            size_t used = 0;
            int idx = std::stoi(s.substr(5), &used);
            if (used == s.size() - 5 && idx >= 0) return cuda(idx);
        } catch (const std::exception&) {
        }
    }
    SEGCORE_THROW("unknown device '", s, "'; expected 'cpu', 'cuda' or 'cuda:N'");
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

void require_cuda(const char* what) {
    if (!cuda_compiled())
        SEGCORE_THROW(what, ": this build has no CUDA backend (configure with -DSEGCORE_CUDA=ON and nvcc installed)");
    if (cuda_device_count() == 0) SEGCORE_THROW(what, ": no CUDA device is visible");
}

}  // namespace segcore
