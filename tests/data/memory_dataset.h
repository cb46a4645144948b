#pragma once
// A small in-memory Dataset for the loader suites: pixel values and labels are functions of the
// index, `bad` indices throw the way a corrupt file would, and `slow_ms` makes get() take a while.
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "core/error.h"
#include "data/dataset.h"

namespace segcore::test {

using data::Dataset;
using data::DatasetSpec;
using data::FloatImage;
using data::Mask;
using data::Sample;

class MemoryDataset final : public Dataset {
public:
    MemoryDataset(int64_t n, int64_t h, int64_t w, std::set<int64_t> bad = {}, int slow_ms = 0)
        : n_(n), h_(h), w_(w), bad_(std::move(bad)), slow_ms_(slow_ms) {
        spec_.name = "memory";
        spec_.classes = {"a", "b", "c", "d", "e"};
    }
    int64_t size() const override { return n_; }
    const DatasetSpec& spec() const override { return spec_; }
    static std::string path(int64_t i) { return "mem/img_" + std::to_string(i) + ".png"; }
    Sample get(int64_t i) const override {
        if (slow_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
        SEGCORE_CHECK(!bad_.count(i), "cannot read '", path(i), "': truncated PNG");
        const int64_t h = h_ + (vary_ ? i % 3 : 0);
        Sample s;
        s.id = "img_" + std::to_string(i);
        s.image_path = path(i);
        s.image = FloatImage{h, w_, 3, std::vector<float>(size_t(h * w_ * 3))};
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w_; ++x)
                for (int64_t c = 0; c < 3; ++c) s.image.at(y, x)[c] = float((i * 7 + y * 3 + x + c * 50) % 256);
        s.mask = Mask{h, w_, std::vector<int32_t>(size_t(h * w_))};
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w_; ++x) s.mask.at(y, x) = int32_t((i + y + x) % 5);
        return s;
    }
    bool vary_ = false;

private:
    int64_t n_, h_, w_;
    std::set<int64_t> bad_;
    int slow_ms_;
    DatasetSpec spec_;
};

}  // namespace segcore::test
