#pragma once
// Element types. Host code sees f16/bf16 as segcore::Half / segcore::BFloat16.
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "core/error.h"
#include "core/half.h"

namespace segcore {

enum class DType : uint8_t { F32, F64, F16, BF16, I32, I64, U8, Bool };

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // "f32", "f64", "f16", "bf16", "i32", "i64", "u8", "bool"
DType dtype_from_name(const std::string& name);  // also accepts "float32", "F32", ...
inline bool is_floating(DType t) { return t == DType::F32 || t == DType::F64 || t == DType::F16 || t == DType::BF16; }
inline bool is_half(DType t) { return t == DType::F16 || t == DType::BF16; }

// C++ type <-> DType.
template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::F32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::F64; };
template <> struct DTypeOf<Half> { static constexpr DType value = DType::F16; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::BF16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::I32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::I64; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::U8; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };
template <typename T> inline constexpr DType dtype_of = DTypeOf<T>::value;

// Accumulation type: f16/bf16 compute in f32 (ATen's acc_type).
template <typename T> struct AccType { using type = T; };
template <> struct AccType<Half> { using type = float; };
template <> struct AccType<BFloat16> { using type = float; };
template <typename T> using acc_t = typename AccType<T>::type;

template <typename T> struct TypeTag { using type = T; };

// visit_dtype(t, [&](auto tag) { using T = typename decltype(tag)::type; ... }) — calls the
// lambda with the C++ type of t. visit_float_dtype accepts only f32/f64/f16/bf16 and names
// the op in its error.
template <typename F>
decltype(auto) visit_dtype(DType t, F&& f) {
    switch (t) {
        case DType::F32: return f(TypeTag<float>{});
        case DType::F64: return f(TypeTag<double>{});
        case DType::F16: return f(TypeTag<Half>{});
        case DType::BF16: return f(TypeTag<BFloat16>{});
        case DType::I32: return f(TypeTag<int32_t>{});
        case DType::I64: return f(TypeTag<int64_t>{});
        case DType::U8: return f(TypeTag<uint8_t>{});
        case DType::Bool: return f(TypeTag<bool>{});
    }
    SEGCORE_THROW("unknown dtype ", int(t));
}

template <typename F>
decltype(auto) visit_float_dtype(DType t, const char* op, F&& f) {
    switch (t) {
        case DType::F32: return f(TypeTag<float>{});
        case DType::F64: return f(TypeTag<double>{});
        case DType::F16: return f(TypeTag<Half>{});
        case DType::BF16: return f(TypeTag<BFloat16>{});
        default: break;
    }
    SEGCORE_THROW(op, ": expected a floating-point tensor (f32, f64, f16, bf16), got ", dtype_name(t));
}

}  // namespace segcore
