// Writes the tiny model file the C API test (c_api_test.c) opens: make_test_model <path>.
#include <cstdio>
#include <exception>

#include "tests/runtime/runtime_test_util.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_test_model <out.safetensors>\n");
        return 2;
    }
    try {
        segcore::test::save_runtime_model(argv[1]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_test_model: %s\n", e.what());
        return 1;
    }
    return 0;
}
