#pragma once
// SampleRng: the random stream of one sample in one epoch, drawn from Philox4x32-10 (core/philox.h).
//
// The stream is a pure function of (seed, epoch, sample index): whichever worker thread loads a
// sample, in whatever order, it draws the same numbers, so augmented batches are bit-identical for
// any number of loader workers. Philox key = a mix of the seed; Philox "stream" word = (epoch, index);
// the counter advances by one block of four 32-bit outputs at a time.
#include <cmath>
#include <cstdint>

#include "core/philox.h"

namespace segcore::data {

class SampleRng {
public:
    SampleRng(uint64_t seed, int64_t epoch, int64_t index)
        : key_(mix(seed ^ 0xda7a5eedULL)), stream_((uint64_t(epoch) << 32) ^ uint64_t(index)) {}

    uint32_t next_u32() {
        if (used_ == 4) {
            block_ = philox::philox4x32(counter_++, stream_, key_);
            used_ = 0;
        }
        return block_.x[used_++];
    }
    // Uniform in [0, 1) with 24 random bits (exact in float and double).
    double uniform() { return double(next_u32() >> 8) * (1.0 / 16777216.0); }
    double uniform(double low, double high) { return low + (high - low) * uniform(); }
    // Integer in [low, high); high > low.
    int64_t randint(int64_t low, int64_t high) {
        const uint64_t bits = (uint64_t(next_u32()) << 32) | next_u32();
        const unsigned __int128 prod = (unsigned __int128)bits * uint64_t(high - low);
        return low + int64_t(uint64_t(prod >> 64));
    }
    bool bernoulli(double p) { return uniform() < p; }
    // Standard normal (Box-Muller on two draws).
    double normal() {
        const double u1 = (double(next_u32()) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]: log is finite
        const double u2 = double(next_u32()) * (1.0 / 4294967296.0);
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

private:
    // splitmix64 finaliser: neighbouring user seeds give unrelated Philox keys.
    static uint64_t mix(uint64_t z) {
        z += 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }

    uint64_t key_, stream_;
    uint64_t counter_ = 0;
    philox::U32x4 block_{};
    int used_ = 4;
};

}  // namespace segcore::data
