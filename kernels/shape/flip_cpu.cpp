// CPU reference for flip (kernels/shape/flip.h).
#include <algorithm>

#include "core/parallel.h"
#include "kernels/shape/flip.h"

namespace segcore::kernels {

template <typename Word>
void flip_cpu(const FlipParams& p, const Word* x, Word* y) {
    // Parallel over the outer index; each task copies `len` rows of `inner` elements in reverse order.
    const int64_t per_outer = std::max<int64_t>(1, p.len * p.inner);
    parallel_for(0, p.outer, std::max<int64_t>(1, kDefaultGrain / per_outer), [&](int64_t begin, int64_t end) {
        for (int64_t o = begin; o < end; ++o) {
            const Word* xo = x + o * p.len * p.inner;
            Word* yo = y + o * p.len * p.inner;
            for (int64_t i = 0; i < p.len; ++i) {
                const Word* src = xo + (p.len - 1 - i) * p.inner;
                Word* dst = yo + i * p.inner;
                for (int64_t j = 0; j < p.inner; ++j) dst[j] = src[j];
            }
        }
    });
}

template void flip_cpu<uint8_t>(const FlipParams&, const uint8_t*, uint8_t*);
template void flip_cpu<uint16_t>(const FlipParams&, const uint16_t*, uint16_t*);
template void flip_cpu<uint32_t>(const FlipParams&, const uint32_t*, uint32_t*);
template void flip_cpu<uint64_t>(const FlipParams&, const uint64_t*, uint64_t*);

}  // namespace segcore::kernels
