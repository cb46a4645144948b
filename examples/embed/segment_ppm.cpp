// Segments one image with a segcore model file and writes the overlay (the image blended with the
// class colours), using nothing but the installed runtime header. Images are binary PPM (P6) so
// that the example needs no image library:
//   segment_ppm best_model.safetensors photo.ppm overlay.ppm
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "seg/runtime/segcore_runtime.h"

namespace rt = segcore::runtime;

namespace {

struct Rgb {
    int64_t height = 0, width = 0;
    std::vector<uint8_t> pixels;  // HWC, RGB
};

Rgb read_ppm(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::string magic;
    int width = 0, height = 0, maxval = 0;
    f >> magic >> width >> height >> maxval;
    f.get();  // the single whitespace before the pixels
    if (!f || magic != "P6" || width <= 0 || height <= 0 || maxval != 255)
        throw std::runtime_error(path + ": expected a binary PPM (P6, maxval 255)");
    Rgb im{height, width, std::vector<uint8_t>(size_t(width) * size_t(height) * 3)};
    f.read(reinterpret_cast<char*>(im.pixels.data()), std::streamsize(im.pixels.size()));
    if (!f) throw std::runtime_error(path + ": truncated pixel data");
    return im;
}

void write_ppm(const std::string& path, const Rgb& im) {
    std::ofstream f(path, std::ios::binary);
    f << "P6\n" << im.width << " " << im.height << "\n255\n";
    f.write(reinterpret_cast<const char*>(im.pixels.data()), std::streamsize(im.pixels.size()));
    if (!f) throw std::runtime_error(path + ": cannot write");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: segment_ppm <model.safetensors> <image.ppm> <overlay.ppm>\n";
        return 2;
    }
    try {
        const rt::Session session(argv[1]);
        const Rgb image = read_ppm(argv[2]);
        const rt::Result r = session.run({image.pixels.data(), image.height, image.width, rt::PixelFormat::RGB8});
        const std::vector<uint8_t> palette = session.palette();
        Rgb overlay = image;
        std::vector<int64_t> counts(size_t(session.num_classes()), 0);
        for (size_t p = 0; p < r.labels_u8.size(); ++p) {
            const size_t k = r.labels_u8[p];
            ++counts[k];
            for (size_t c = 0; c < 3; ++c)
                overlay.pixels[p * 3 + c] = uint8_t((image.pixels[p * 3 + c] + palette[k * 3 + c] + 1) / 2);
        }
        write_ppm(argv[3], overlay);
        for (size_t k = 0; k < counts.size(); ++k)
            if (counts[k]) std::cout << session.class_names()[k] << ": " << counts[k] << " pixels\n";
    } catch (const std::exception& e) {
        std::cerr << "segment_ppm: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
