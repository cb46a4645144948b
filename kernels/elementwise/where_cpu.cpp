// CPU reference for where (kernels/elementwise/where.h).
#include "core/parallel.h"
#include "kernels/elementwise/where.h"

namespace segcore::kernels {

template <typename T>
void where_cpu(const StridedGeometry<4>& g, T* out, const bool* cond, const T* a, const T* b) {
    if (g.contiguous()) {
        parallel_for(0, g.numel, kDefaultGrain, [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) out[i] = cond[i] ? a[i] : b[i];
        });
        return;
    }
    parallel_for(0, g.numel, kDefaultGrain, [&](int64_t begin, int64_t end) {
        for_each_row(g, begin, end, [&](const int64_t* off, int64_t n, const int64_t* st) {
            T* o = out + off[0];
            const bool* c = cond + off[1];
            const T* x = a + off[2];
            const T* y = b + off[3];
            for (int64_t i = 0; i < n; ++i) o[i * st[0]] = c[i * st[1]] ? x[i * st[2]] : y[i * st[3]];
        });
    });
}

#define SEGCORE_INSTANTIATE_WHERE(T) \
    template void where_cpu<T>(const StridedGeometry<4>&, T*, const bool*, const T*, const T*);
SEGCORE_INSTANTIATE_WHERE(float)
SEGCORE_INSTANTIATE_WHERE(double)
SEGCORE_INSTANTIATE_WHERE(Half)
SEGCORE_INSTANTIATE_WHERE(BFloat16)
SEGCORE_INSTANTIATE_WHERE(int32_t)
SEGCORE_INSTANTIATE_WHERE(int64_t)
SEGCORE_INSTANTIATE_WHERE(uint8_t)
SEGCORE_INSTANTIATE_WHERE(bool)
#undef SEGCORE_INSTANTIATE_WHERE

}  // namespace segcore::kernels
