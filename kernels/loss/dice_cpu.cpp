// CPU reference for the Dice family (kernels/loss/dice.h). Pixels are cut into fixed chunks of
// kChunk pixels inside one image (so the split never depends on the thread count); each chunk
// computes the softmax class by class (the inner loops run over contiguous pixels, one exp per
// logit with kernels/common/vec_math.h's vectorisable exp) and its own per-class sums (8 explicit
// lanes in the accumulation type, then double); the chunks' sums are added in chunk order in
// double. Deterministic, bit for bit, whatever the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "core/parallel.h"
#include "kernels/common/vec_math.h"
#include "kernels/loss/dice.h"

namespace segcore::kernels {

namespace {

constexpr int64_t kChunk = 1024;
constexpr int64_t kLanes = 8;  // explicit partial sums, so the reduction loops vectorise (fixed order)

struct Chunk {
    int64_t n, j0, len;
};

template <typename A>
inline A exp_acc(A v) {
    if constexpr (std::is_same_v<A, float>) return vec::exp_f32(v);
    else return std::exp(v);
}

Chunk chunk_of(const DiceParams& p, int64_t i) {
    const int64_t per_image = (p.hw + kChunk - 1) / kChunk;
    Chunk ch;
    ch.n = i / per_image;
    ch.j0 = (i % per_image) * kChunk;
    ch.len = std::min(kChunk, p.hw - ch.j0);
    return ch;
}

int64_t num_chunks(const DiceParams& p) { return p.n * ((p.hw + kChunk - 1) / kChunk); }

// Per-chunk scratch: the label of each pixel (-1 when ignored), its validity as 0/1, and the
// softmax probabilities of every class, prob[c * kChunk + j] (C x 1024 values stay in L2).
template <typename A>
struct Scratch {
    std::vector<int32_t> lab;
    std::vector<A> valid, m, s, prob;
    explicit Scratch(int64_t c)
        : lab(size_t(kChunk)), valid(size_t(kChunk)), m(size_t(kChunk)), s(size_t(kChunk)), prob(size_t(c * kChunk)) {}
};

// Fills sc.lab / sc.valid and the probabilities of one chunk. One exp per logit: exp(x - m) is
// stored while the denominator is summed, then scaled. Ignored pixels get probability 0.
template <typename T, typename L, typename A>
void chunk_softmax(const DiceParams& p, const T* x, const L* labels, const Chunk& ch, Scratch<A>& sc) {
    const T* base = x + ch.n * p.c * p.hw + ch.j0;
    const L* lab = labels + ch.n * p.hw + ch.j0;
    for (int64_t j = 0; j < ch.len; ++j) {
        const int64_t l = int64_t(lab[j]);
        const bool v = l != p.ignore_index;
        sc.lab[size_t(j)] = v ? int32_t(l) : -1;
        sc.valid[size_t(j)] = v ? A(1) : A(0);
    }
    A* m = sc.m.data();
    A* s = sc.s.data();
    for (int64_t j = 0; j < ch.len; ++j) m[j] = A(base[j]);
    for (int64_t c = 1; c < p.c; ++c) {
        const T* xc = base + c * p.hw;
        for (int64_t j = 0; j < ch.len; ++j) m[j] = std::max(m[j], A(xc[j]));
    }
    for (int64_t j = 0; j < ch.len; ++j) s[j] = A(0);
    for (int64_t c = 0; c < p.c; ++c) {
        const T* xc = base + c * p.hw;
        A* pc = sc.prob.data() + c * kChunk;
        for (int64_t j = 0; j < ch.len; ++j) {
            pc[j] = exp_acc(A(xc[j]) - m[j]);
            s[j] += pc[j];
        }
    }
    for (int64_t j = 0; j < ch.len; ++j) s[j] = sc.valid[size_t(j)] / s[j];  // 1/denominator, 0 if ignored
    for (int64_t c = 0; c < p.c; ++c) {
        A* pc = sc.prob.data() + c * kChunk;
        for (int64_t j = 0; j < ch.len; ++j) pc[j] *= s[j];
    }
}

}  // namespace

template <typename T, typename L, typename S>
void dice_forward_cpu(const DiceParams& p, const T* x, const L* labels, S* stats, S* loss, int64_t* bad_index) {
    using A = acc_t<T>;
    const int64_t C = p.c, chunks = num_chunks(p);
    std::vector<double> partial(size_t(chunks * 3 * C), 0.0);
    std::vector<int64_t> bad(size_t(chunks), -1);
    parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
        Scratch<A> sc(C);
        for (int64_t i = b; i < e; ++i) {
            const Chunk ch = chunk_of(p, i);
            const L* lab = labels + ch.n * p.hw + ch.j0;
            for (int64_t j = 0; j < ch.len; ++j) {
                const int64_t l = int64_t(lab[j]);
                if (l != p.ignore_index && (l < 0 || l >= C)) {
                    bad[size_t(i)] = ch.n * p.hw + ch.j0 + j;
                    break;
                }
            }
            if (bad[size_t(i)] >= 0) continue;
            chunk_softmax(p, x, labels, ch, sc);
            double* out = partial.data() + i * 3 * C;
            for (int64_t j = 0; j < ch.len; ++j)
                if (sc.lab[size_t(j)] >= 0) out[2 * C + sc.lab[size_t(j)]] += 1.0;
            for (int64_t c = 0; c < C; ++c) {
                const A* pc = sc.prob.data() + c * kChunk;
                A si[kLanes] = {}, sp[kLanes] = {};
                int64_t j = 0;
                for (; j + kLanes <= ch.len; j += kLanes)
                    for (int64_t k = 0; k < kLanes; ++k) {
                        sp[k] += pc[j + k];
                        si[k] += sc.lab[size_t(j + k)] == c ? pc[j + k] : A(0);
                    }
                for (int64_t k = 0; j < ch.len; ++j, ++k) {
                    sp[k] += pc[j];
                    si[k] += sc.lab[size_t(j)] == c ? pc[j] : A(0);
                }
                double ti = 0, tp = 0;
                for (int64_t k = 0; k < kLanes; ++k) {
                    ti += double(si[k]);
                    tp += double(sp[k]);
                }
                out[c] = ti;
                out[C + c] = tp;
            }
        }
    });
    *bad_index = -1;
    for (int64_t i = 0; i < chunks; ++i)
        if (bad[size_t(i)] >= 0) {
            *bad_index = bad[size_t(i)];
            break;
        }
    std::vector<double> total(size_t(3 * C), 0.0);
    for (int64_t i = 0; i < chunks; ++i)
        for (int64_t k = 0; k < 3 * C; ++k) total[size_t(k)] += partial[size_t(i * 3 * C + k)];
    for (int64_t k = 0; k < 3 * C; ++k) stats[k] = S(total[size_t(k)]);
    *loss = S(dice_finish<double>(p, total.data(), nullptr));
}

template <typename T, typename L, typename S>
void dice_backward_cpu(const DiceParams& p, const T* x, const L* labels, const S* stats, S grad_loss, T* dx) {
    using A = acc_t<T>;
    const int64_t C = p.c, chunks = num_chunks(p);
    std::vector<double> st(size_t(3 * C)), coef(size_t(2 * C));
    for (int64_t k = 0; k < 3 * C; ++k) st[size_t(k)] = double(stats[k]);
    dice_finish<double>(p, st.data(), coef.data());
    // dL/dp_ic = a_c g_ic + b_c, scaled by the upstream gradient once here.
    std::vector<A> a(static_cast<size_t>(C)), bcoef(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
        a[size_t(c)] = A(coef[size_t(c)] * double(grad_loss));
        bcoef[size_t(c)] = A(coef[size_t(C + c)] * double(grad_loss));
    }
    parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
        Scratch<A> sc(C);
        std::vector<A> dot(static_cast<size_t>(kChunk));
        for (int64_t i = b; i < e; ++i) {
            const Chunk ch = chunk_of(p, i);
            T* dbase = dx + ch.n * C * p.hw + ch.j0;
            chunk_softmax(p, x, labels, ch, sc);  // ignored pixels: p = 0, so dx = 0 below
            for (int64_t j = 0; j < ch.len; ++j) dot[size_t(j)] = A(0);
            for (int64_t c = 0; c < C; ++c) {
                const A* pc = sc.prob.data() + c * kChunk;
                const A ac = a[size_t(c)], bc = bcoef[size_t(c)];
                for (int64_t j = 0; j < ch.len; ++j)
                    dot[size_t(j)] += pc[j] * ((sc.lab[size_t(j)] == c ? ac : A(0)) + bc);
            }
            for (int64_t c = 0; c < C; ++c) {
                const A* pc = sc.prob.data() + c * kChunk;
                const A ac = a[size_t(c)], bc = bcoef[size_t(c)];
                T* dc = dbase + c * p.hw;
                for (int64_t j = 0; j < ch.len; ++j)
                    dc[j] = T(pc[j] * ((sc.lab[size_t(j)] == c ? ac : A(0)) + bc - dot[size_t(j)]));
            }
        }
    });
}

#define SEGCORE_INSTANTIATE(T, L, S)                                                                             \
    template void dice_forward_cpu<T, L, S>(const DiceParams&, const T*, const L*, S*, S*, int64_t*);           \
    template void dice_backward_cpu<T, L, S>(const DiceParams&, const T*, const L*, const S*, S, T*);
#define SEGCORE_INSTANTIATE_L(T, S)          \
    SEGCORE_INSTANTIATE(T, int64_t, S)       \
    SEGCORE_INSTANTIATE(T, int32_t, S)       \
    SEGCORE_INSTANTIATE(T, uint8_t, S)
SEGCORE_INSTANTIATE_L(float, float)
SEGCORE_INSTANTIATE_L(double, double)
SEGCORE_INSTANTIATE_L(Half, float)
SEGCORE_INSTANTIATE_L(BFloat16, float)
#undef SEGCORE_INSTANTIATE_L
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
