// CPU reference for the confusion-matrix update (kernels/metrics/confusion.h).
//
// The pixels of all images are cut into fixed-size chunks; each chunk counts into its own private
// c x c histogram, and the histograms are summed into conf at the end. Integer sums: the result
// does not depend on the split. Within a chunk the argmax walks a run of contiguous pixels of one
// image class by class (class-outer, pixel-inner), so every read is a unit-stride stream instead
// of a stride-H*W gather per pixel, and the inner loop vectorises.
#include <algorithm>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <vector>

#include "core/half.h"
#include "core/parallel.h"
#include "kernels/metrics/confusion.h"

namespace segcore::kernels {

namespace {

constexpr int64_t kRun = 256;  // pixels of one image handled together by the argmax

// What a chunk found: its histogram and its invalid-label bookkeeping.
struct ChunkState {
    std::vector<int64_t> hist;
    int64_t bad[kConfusionStatusSize] = {0, kNoPixel, 0, kNoPixel};
};

// Counts pixel i (flat index) with target t and prediction q into s; q is known to be valid for
// logits input, checked for label input.
inline void count_pixel(const ConfusionParams& p, int64_t i, int64_t t, int64_t q, ChunkState& s) {
    if (t == p.ignore_index) return;
    if (t < 0 || t >= p.c) {
        ++s.bad[kBadTargetCount];
        s.bad[kBadTargetFirst] = std::min(s.bad[kBadTargetFirst], i);
        return;
    }
    if (q < 0 || q >= p.c) {
        ++s.bad[kBadPredCount];
        s.bad[kBadPredFirst] = std::min(s.bad[kBadPredFirst], i);
        return;
    }
    ++s.hist[size_t(t * p.c + q)];
}

// Runs body(begin, end, state) over fixed chunks of the flat pixel range in parallel, then folds
// every chunk's histogram and status into conf / status.
template <typename Body>
void run_chunks(const ConfusionParams& p, int64_t* conf, int64_t* status, Body&& body) {
    const int64_t total = p.n * p.hw;
    if (total == 0) return;
    // A chunk is at least 64k pixels (so a 256-class private histogram, 512 KiB, is worth zeroing)
    // and there are at most 4 chunks per thread.
    const int64_t chunk = std::max<int64_t>(65536, (total + 4 * num_threads() - 1) / (4 * num_threads()));
    const int64_t nchunks = (total + chunk - 1) / chunk;
    std::mutex mu;
    parallel_for(0, nchunks, 1, [&](int64_t cb, int64_t ce) {
        ChunkState s;
        s.hist.assign(size_t(p.c * p.c), 0);
        for (int64_t k = cb; k < ce; ++k) body(k * chunk, std::min(total, (k + 1) * chunk), s);
        std::lock_guard<std::mutex> lock(mu);
        for (size_t j = 0; j < s.hist.size(); ++j) conf[j] += s.hist[j];
        if (status) {
            status[kBadTargetCount] += s.bad[kBadTargetCount];
            status[kBadTargetFirst] = std::min(status[kBadTargetFirst], s.bad[kBadTargetFirst]);
            status[kBadPredCount] += s.bad[kBadPredCount];
            status[kBadPredFirst] = std::min(status[kBadPredFirst], s.bad[kBadPredFirst]);
        }
    });
}

// The argmax comparison in the input's precision widened to f32 (f64 stays f64): `v` replaces the
// best so far when it is larger, or when it is the first NaN (NaN is the maximum; later NaNs and
// equal values never replace an earlier index).
template <typename A>
inline bool beats(A v, A best) {
    return v > best || (v != v && best == best);
}

}  // namespace

template <typename T, typename L>
void confusion_from_logits_cpu(const ConfusionParams& p, const T* logits, const L* target, int64_t* conf,
                               int64_t* status) {
    using A = acc_t<T>;
    run_chunks(p, conf, status, [&](int64_t begin, int64_t end, ChunkState& s) {
        A best[kRun];
        int32_t arg[kRun];
        for (int64_t i = begin; i < end;) {
            // A run of contiguous pixels of one image: [i, i + len).
            const int64_t n = i / p.hw, j0 = i % p.hw;
            const int64_t len = std::min({kRun, end - i, p.hw - j0});
            const T* x = logits + (n * p.c) * p.hw + j0;
            for (int64_t j = 0; j < len; ++j) {
                best[j] = A(x[j]);
                arg[j] = 0;
            }
            for (int64_t k = 1; k < p.c; ++k) {
                const T* xk = x + k * p.hw;
                for (int64_t j = 0; j < len; ++j) {
                    const A v = A(xk[j]);
                    const bool w = beats(v, best[j]);
                    best[j] = w ? v : best[j];
                    arg[j] = w ? int32_t(k) : arg[j];
                }
            }
            for (int64_t j = 0; j < len; ++j) count_pixel(p, i + j, int64_t(target[i + j]), arg[j], s);
            i += len;
        }
    });
}

template <typename P, typename L>
void confusion_from_labels_cpu(const ConfusionParams& p, const P* pred, const L* target, int64_t* conf,
                               int64_t* status) {
    run_chunks(p, conf, status, [&](int64_t begin, int64_t end, ChunkState& s) {
        for (int64_t i = begin; i < end; ++i) count_pixel(p, i, int64_t(target[i]), int64_t(pred[i]), s);
    });
}

#define SEGCORE_CONFUSION_LOGITS(T)                                                                                 \
    template void confusion_from_logits_cpu<T, int64_t>(const ConfusionParams&, const T*, const int64_t*, int64_t*, \
                                                        int64_t*);                                                  \
    template void confusion_from_logits_cpu<T, int32_t>(const ConfusionParams&, const T*, const int32_t*, int64_t*, \
                                                        int64_t*);                                                  \
    template void confusion_from_logits_cpu<T, uint8_t>(const ConfusionParams&, const T*, const uint8_t*, int64_t*, \
                                                        int64_t*);
SEGCORE_CONFUSION_LOGITS(float)
SEGCORE_CONFUSION_LOGITS(double)
SEGCORE_CONFUSION_LOGITS(Half)
SEGCORE_CONFUSION_LOGITS(BFloat16)
#undef SEGCORE_CONFUSION_LOGITS

#define SEGCORE_CONFUSION_LABELS(P)                                                                                 \
    template void confusion_from_labels_cpu<P, int64_t>(const ConfusionParams&, const P*, const int64_t*, int64_t*, \
                                                        int64_t*);                                                  \
    template void confusion_from_labels_cpu<P, int32_t>(const ConfusionParams&, const P*, const int32_t*, int64_t*, \
                                                        int64_t*);                                                  \
    template void confusion_from_labels_cpu<P, uint8_t>(const ConfusionParams&, const P*, const uint8_t*, int64_t*, \
                                                        int64_t*);
SEGCORE_CONFUSION_LABELS(int64_t)
SEGCORE_CONFUSION_LABELS(int32_t)
SEGCORE_CONFUSION_LABELS(uint8_t)
#undef SEGCORE_CONFUSION_LABELS

}  // namespace segcore::kernels
