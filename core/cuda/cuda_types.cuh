#pragma once
// Device-side view of segcore's element types: segcore::Half/BFloat16 (host structs) map to
// __half/__nv_bfloat16 (same bits). Kernels are templated on the device type; launchers are
// instantiated on the host type and reinterpret the pointers.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "core/half.h"

namespace segcore::cuda {

template <typename T> struct DeviceType { using type = T; };
template <> struct DeviceType<Half> { using type = __half; };
template <> struct DeviceType<BFloat16> { using type = __nv_bfloat16; };
template <typename T> using device_t = typename DeviceType<T>::type;

template <typename T> __host__ __device__ inline device_t<T>* dev_ptr(T* p) { return reinterpret_cast<device_t<T>*>(p); }
template <typename T> __host__ __device__ inline const device_t<T>* dev_ptr(const T* p) {
    return reinterpret_cast<const device_t<T>*>(p);
}

// Accumulation / compute type on the device: f32 for the 16-bit floats.
template <typename T> struct DeviceAcc { using type = T; };
template <> struct DeviceAcc<__half> { using type = float; };
template <> struct DeviceAcc<__nv_bfloat16> { using type = float; };
template <typename T> using dacc_t = typename DeviceAcc<T>::type;

template <typename T> inline constexpr bool is_half16_v = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

// Value conversion with the same rules as the CPU reference (core/copy_cpu.cpp).
template <typename D, typename S>
__device__ __forceinline__ D convert(S v) {
    if constexpr (std::is_same_v<D, S>) {
        return v;
    } else if constexpr (std::is_same_v<D, bool>) {
        if constexpr (is_half16_v<S>) return float(v) != 0.0f;
        else return v != S(0);
    } else if constexpr (std::is_same_v<D, __half>) {
        return __float2half_rn(float(v));  // double -> float -> half, as on the CPU
    } else if constexpr (std::is_same_v<D, __nv_bfloat16>) {
        return __float2bfloat16_rn(float(v));
    } else if constexpr (is_half16_v<S>) {
        return D(float(v));
    } else {
        return D(v);
    }
}

}  // namespace segcore::cuda
