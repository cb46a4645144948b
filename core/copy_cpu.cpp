// CPU reference for copy, fill and random fill (core/copy.h).
#include <cstring>
#include <type_traits>

#include "core/copy.h"
#include "core/parallel.h"
#include "core/philox.h"

namespace segcore {

namespace {

// Conversion through the widest natural type: float types via double (exact for every f16/bf16/f32
// value), integers stay integers, bool is "!= 0".
template <typename D, typename S>
inline D convert(S v) {
    if constexpr (std::is_same_v<D, S>) {
        return v;
    } else if constexpr (std::is_same_v<D, bool>) {
        if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) return float(v) != 0.0f;
        else return v != S(0);
    } else if constexpr (std::is_same_v<D, Half> || std::is_same_v<D, BFloat16>) {
        return D(float(v));  // double -> float -> half, as PyTorch does
    } else if constexpr (std::is_same_v<S, Half> || std::is_same_v<S, BFloat16>) {
        return D(float(v));
    } else {
        return D(v);
    }
}

}  // namespace

void copy_cpu(const StridedGeometry<2>& g, DType dst_t, void* dst, DType src_t, const void* src) {
    if (dst_t == src_t && g.contiguous()) {  // plain memcpy, split across threads
        const int64_t es = int64_t(dtype_size(dst_t));
        parallel_for(0, g.numel, kDefaultGrain, [&](int64_t b, int64_t e) {
            std::memcpy(static_cast<char*>(dst) + b * es, static_cast<const char*>(src) + b * es, size_t((e - b) * es));
        });
        return;
    }
    visit_dtype(dst_t, [&](auto dtag) {
        using D = typename decltype(dtag)::type;
        visit_dtype(src_t, [&](auto stag) {
            using S = typename decltype(stag)::type;
            D* out = static_cast<D*>(dst);
            const S* in = static_cast<const S*>(src);
            parallel_for(0, g.numel, kDefaultGrain, [&](int64_t b, int64_t e) {
                for_each_row(g, b, e, [&](const int64_t* off, int64_t n, const int64_t* st) {
                    D* o = out + off[0];
                    const S* x = in + off[1];
                    if (st[0] == 1 && st[1] == 1) {
                        for (int64_t i = 0; i < n; ++i) o[i] = convert<D>(x[i]);
                    } else {
                        for (int64_t i = 0; i < n; ++i) o[i * st[0]] = convert<D>(x[i * st[1]]);
                    }
                });
            });
        });
    });
}

void fill_cpu(const StridedGeometry<1>& g, DType t, void* dst, double value) {
    visit_dtype(t, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T v = convert<T>(value);
        T* out = static_cast<T*>(dst);
        parallel_for(0, g.numel, kDefaultGrain, [&](int64_t b, int64_t e) {
            for_each_row(g, b, e, [&](const int64_t* off, int64_t n, const int64_t* st) {
                for (int64_t i = 0; i < n; ++i) out[off[0] + i * st[0]] = v;
            });
        });
    });
}

void random_cpu(const StridedGeometry<1>& g, DType t, void* dst, const RandomParams& p) {
    visit_dtype(t, [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* out = static_cast<T*>(dst);
        parallel_for(0, g.numel, 4096, [&](int64_t b, int64_t e) {
            int64_t i = b;  // the logical index drives the generator, whatever the layout
            for_each_row(g, b, e, [&](const int64_t* off, int64_t n, const int64_t* st) {
                for (int64_t j = 0; j < n; ++j, ++i) {
                    T v{};
                    switch (p.kind) {
                        case RandomKind::Uniform:
                            v = convert<T>(philox::uniform_scaled(p.seed, p.offset, i, p.a, p.b));
                            break;
                        case RandomKind::Normal:
                            v = convert<T>(philox::normal_scaled(p.seed, p.offset, i, p.a, p.b));
                            break;
                        case RandomKind::Integer:
                            v = convert<T>(philox::randint_at(p.seed, p.offset, i, int64_t(p.a), int64_t(p.b)));
                            break;
                    }
                    out[off[0] + j * st[0]] = v;
                }
            });
        });
    });
}

}  // namespace segcore
