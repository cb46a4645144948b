// `segcore devices`: what this build can run on.
#include <cstdio>

#include "apps/commands.h"
#include "core/allocator.h"
#include "core/device.h"
#include "core/parallel.h"

namespace segcore::apps {

void add_devices_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("devices", "List the CPU and CUDA devices this build can use");
    cmd->callback([] {
        std::printf("segcore devices\n");
        std::printf("  cpu     %d worker threads (SEGCORE_NUM_THREADS overrides)\n", num_threads());
        if (!cuda_compiled()) {
            std::printf("  cuda    this build has no CUDA backend (configure with -DSEGCORE_CUDA=ON)\n");
            return;
        }
        const int n = cuda_device_count();
        if (n == 0) std::printf("  cuda    backend built, but no CUDA device is visible\n");
        for (int i = 0; i < n; ++i) {
            const CudaDeviceInfo d = cuda_device_info(i);
            std::printf("  cuda:%d  %s, compute capability %d.%d, %d SMs, %s memory, %s L2, %d-bit bus\n", i,
                        d.name.c_str(), d.major, d.minor, d.multiprocessors, bytes_str(d.total_memory).c_str(),
                        bytes_str(d.l2_cache_bytes).c_str(), d.memory_bus_width);
        }
    });
}

}  // namespace segcore::apps
