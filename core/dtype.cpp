#include "core/dtype.h"

#include <algorithm>
#include <cctype>

namespace segcore {

size_t dtype_size(DType t) {
    switch (t) {
        case DType::F32: case DType::I32: return 4;
        case DType::F64: case DType::I64: return 8;
        case DType::F16: case DType::BF16: return 2;
        case DType::U8: case DType::Bool: return 1;
    }
    SEGCORE_THROW("unknown dtype ", int(t));
}

const char* dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "f32";
        case DType::F64: return "f64";
        case DType::F16: return "f16";
        case DType::BF16: return "bf16";
        case DType::I32: return "i32";
        case DType::I64: return "i64";
        case DType::U8: return "u8";
        case DType::Bool: return "bool";
    }
    return "?";
}

DType dtype_from_name(const std::string& name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    if (n == "f32" || n == "float32" || n == "float") return DType::F32;
    if (n == "f64" || n == "float64" || n == "double") return DType::F64;
    if (n == "f16" || n == "float16" || n == "half") return DType::F16;
    if (n == "bf16" || n == "bfloat16") return DType::BF16;
    if (n == "i32" || n == "int32") return DType::I32;
    if (n == "i64" || n == "int64") return DType::I64;
    if (n == "u8" || n == "uint8") return DType::U8;
    if (n == "bool") return DType::Bool;
    SEGCORE_THROW("unknown dtype '", name, "'; expected one of f32, f64, f16, bf16, i32, i64, u8, bool");
}

}  // namespace segcore
