// Writes the tiny model file the C API test and the embedding example open, and optionally a test
// picture as binary PPM: make_test_model <model.safetensors> [<image.ppm>]
#include <cstdio>
#include <exception>
#include <fstream>

#include "tests/runtime/runtime_test_util.h"

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: make_test_model <model.safetensors> [<image.ppm>]\n");
        return 2;
    }
    try {
        segcore::test::save_runtime_model(argv[1]);
        if (argc == 3) {
            const int64_t h = 21, w = 34;
            const std::vector<uint8_t> px = segcore::test::random_pixels(h, w, 3, 5);
            std::ofstream f(argv[2], std::ios::binary);
            f << "P6\n" << w << " " << h << "\n255\n";
            f.write(reinterpret_cast<const char*>(px.data()), std::streamsize(px.size()));
            if (!f) throw std::runtime_error(std::string(argv[2]) + ": cannot write");
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_test_model: %s\n", e.what());
        return 1;
    }
    return 0;
}
