// Catch2 main shared by every suite. Suites built with SEGCORE_TEST_NEEDS_CUDA exit with 77
// (ctest's "skipped") and one line saying why when no CUDA device is visible.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "core/device.h"

int main(int argc, char** argv) {
#if SEGCORE_TEST_NEEDS_CUDA
    if (!segcore::cuda_compiled() || segcore::cuda_device_count() == 0) {
        std::printf("skipped: %s\n", segcore::cuda_compiled() ? "no CUDA device is visible"
                                                            : "this build has no CUDA backend");
        return 77;
    }
#endif
    return Catch::Session().run(argc, argv);
}
