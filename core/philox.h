#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator. The random numbers for element i depend only on (seed, offset, i),
// so the CPU and every CUDA thread compute the same values with no shared state (bitwise for
// uniform and integer draws; normals see normal_at).
//
// Element i of a random tensor uses counter (offset + i/4, 0) for uniform bits (output i%4), and
// counter (offset + i/2, 1) for normals (Box-Muller on outputs 0,1 → cos for even i, sin for odd).
// The generator then advances its offset by numel, so consecutive calls draw fresh numbers.
#include <cmath>
#include <cstdint>

#include "core/host_device.h"

namespace segcore::philox {

struct U32x4 {
    uint32_t x[4];
};

SEGCORE_HOST_DEVICE void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
    const uint64_t p = uint64_t(a) * uint64_t(b);
    hi = uint32_t(p >> 32);
    lo = uint32_t(p);
}

// 10 rounds of Philox4x32 on counter (c0..c3) with key (k0, k1).
SEGCORE_HOST_DEVICE U32x4 philox4x32(uint64_t counter, uint64_t stream, uint64_t seed) {
    uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = uint32_t(stream), c3 = uint32_t(stream >> 32);
    uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
    for (int r = 0; r < 10; ++r) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(0xD2511F53u, c0, hi0, lo0);
        mulhilo(0xCD9E8D57u, c2, hi1, lo1);
        const uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return U32x4{{c0, c1, c2, c3}};
}

// Uniform float in [0, 1): the top 24 bits, exactly representable.
SEGCORE_HOST_DEVICE float uint_to_unit(uint32_t u) { return float(u >> 8) * (1.0f / 16777216.0f); }

SEGCORE_HOST_DEVICE uint32_t bits_at(uint64_t seed, uint64_t offset, int64_t i) {
    return philox4x32(offset + uint64_t(i) / 4, 0, seed).x[i % 4];
}

SEGCORE_HOST_DEVICE float uniform_at(uint64_t seed, uint64_t offset, int64_t i) {
    return uint_to_unit(bits_at(seed, offset, i));
}

// Standard normal for element i. The transform runs in double and the caller rounds to float,
// so CPU libm and CUDA's double log/sin/cos (1-2 ulp, not correctly rounded, unlike glibc's)
// almost always give the same float; when a double lands within a few ulp of a float rounding
// boundary (about 1e-8 of elements) the two differ by one float ulp. Uniform and integer draws
// use only exact integer and correctly rounded float operations, so those are bitwise equal.
SEGCORE_HOST_DEVICE double normal_at(uint64_t seed, uint64_t offset, int64_t i) {
    const U32x4 r = philox4x32(offset + uint64_t(i) / 2, 1, seed);
    const double u1 = (double(r.x[0]) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]: log is finite
    const double u2 = double(r.x[1]) * (1.0 / 4294967296.0);
    const double radius = sqrt(-2.0 * log(u1));
    const double theta = 6.283185307179586 * u2;
    return (i % 2 == 0) ? radius * cos(theta) : radius * sin(theta);
}

// The scaled forms used by both backends. fma is explicit because nvcc contracts a + b*u into an
// FMA by default and the host compiler may not: the same rounding on both sides keeps bits equal.
SEGCORE_HOST_DEVICE float uniform_scaled(uint64_t seed, uint64_t offset, int64_t i, double low, double high) {
    return fmaf(float(high - low), uniform_at(seed, offset, i), float(low));
}
SEGCORE_HOST_DEVICE float normal_scaled(uint64_t seed, uint64_t offset, int64_t i, double mean, double stddev) {
    return float(fma(stddev, normal_at(seed, offset, i), mean));
}

// Integer in [low, high): multiply-shift on 64 random bits (bias below 2^-32 for any range).
SEGCORE_HOST_DEVICE int64_t randint_at(uint64_t seed, uint64_t offset, int64_t i, int64_t low, int64_t high) {
    const U32x4 r = philox4x32(offset + uint64_t(i), 2, seed);
    const uint64_t bits = (uint64_t(r.x[0]) << 32) | r.x[1];
    const uint64_t range = uint64_t(high - low);
    const unsigned __int128 prod = (unsigned __int128)bits * range;
    return low + int64_t(uint64_t(prod >> 64));
}

}  // namespace segcore::philox
