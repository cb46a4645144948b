#pragma once
// The scalar formulas of the elementwise family, shared by the CPU reference (unary_cpu.cpp, ...)
// and the CUDA kernels (unary_cuda.cu, ...) so both backends evaluate the same expression. Each
// functor works in the accumulation type A (float for f32/f16/bf16, double for f64, the integer
// itself for comparisons on labels); loading and rounding the storage type is the caller's job.
//
// No CUDA types appear here: under nvcc the functions are also __device__, and the math calls use
// the global C names (::expf, ::erff, ...), which exist both in libm and as CUDA device functions
// and cannot be hidden by segcore::ops::exp and friends. On the CPU, f32 exp/tanh/erf use
// kernels/common/vec_math.h instead of libm: libm's calls keep a loop scalar (exp ran at a tenth of
// memory bandwidth), these vectorise and stay within 1-3 ulp.
#include <math.h>

#include <type_traits>

#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"
#if !defined(__CUDACC__)
#include "kernels/common/vec_math.h"
#endif

#if defined(__CUDACC__)
#define SEGCORE_HD __host__ __device__ __forceinline__
#else
#define SEGCORE_HD inline
#endif

namespace segcore::kernels::ew {

template <typename A>
SEGCORE_HD A ew_exp(A x) {
    if constexpr (std::is_same_v<A, float>)
#if defined(__CUDACC__)
        return ::expf(x);
#else
        return vec::exp_f32(x);
#endif
    else
        return ::exp(x);
}
template <typename A>
SEGCORE_HD A ew_log(A x) {
    if constexpr (std::is_same_v<A, float>)
        return ::logf(x);
    else
        return ::log(x);
}
template <typename A>
SEGCORE_HD A ew_sqrt(A x) {
    if constexpr (std::is_same_v<A, float>)
        return ::sqrtf(x);
    else
        return ::sqrt(x);
}
template <typename A>
SEGCORE_HD A ew_tanh(A x) {
    if constexpr (std::is_same_v<A, float>)
#if defined(__CUDACC__)
        return ::tanhf(x);
#else
        return vec::tanh_f32(x);
#endif
    else
        return ::tanh(x);
}
template <typename A>
SEGCORE_HD A ew_erf(A x) {
    if constexpr (std::is_same_v<A, float>)
#if defined(__CUDACC__)
        return ::erff(x);
#else
        return vec::erf_f32(x);
#endif
    else
        return ::erf(x);
}
template <typename A>
SEGCORE_HD A ew_abs(A x) {
    if constexpr (std::is_same_v<A, float>)
        return ::fabsf(x);
    else
        return ::fabs(x);
}
template <typename A>
SEGCORE_HD A ew_pow(A x, A e) {
    if constexpr (std::is_same_v<A, float>)
        return ::powf(x, e);
    else
        return ::pow(x, e);
}

// y = f(x) with the scalar parameters a, b of UnaryParams already converted to A.
template <UnaryOp Op, typename A>
struct UnaryFn {
    A a, b;
    SEGCORE_HD A operator()(A x) const {
        if constexpr (Op == UnaryOp::Neg)
            return -x;
        else if constexpr (Op == UnaryOp::Abs)
            return ew_abs(x);
        else if constexpr (Op == UnaryOp::Exp)
            return ew_exp(x);
        else if constexpr (Op == UnaryOp::Log)
            return ew_log(x);
        else if constexpr (Op == UnaryOp::Sqrt)
            return ew_sqrt(x);
        else if constexpr (Op == UnaryOp::Rsqrt)
            return A(1) / ew_sqrt(x);
        else if constexpr (Op == UnaryOp::Sigmoid)
            return A(1) / (A(1) + ew_exp(-x));
        else if constexpr (Op == UnaryOp::Tanh)
            return ew_tanh(x);
        // Written as "x < lo ? lo : x" so a NaN input stays NaN, as in PyTorch's clamp_min.
        else if constexpr (Op == UnaryOp::Relu)
            return x < A(0) ? A(0) : x;
        else if constexpr (Op == UnaryOp::Relu6)
            return x < A(0) ? A(0) : (x > A(6) ? A(6) : x);
        else if constexpr (Op == UnaryOp::LeakyRelu)
            return x > A(0) ? x : x * a;
        else if constexpr (Op == UnaryOp::Hardswish) {
            const A t = x + A(3);
            return x * (t < A(0) ? A(0) : (t > A(6) ? A(6) : t)) / A(6);
        } else if constexpr (Op == UnaryOp::Gelu) {
            return A(0.5) * x * (A(1) + ew_erf(x * A(0.70710678118654752440)));
        } else if constexpr (Op == UnaryOp::GeluTanh) {
            const A inner = A(0.79788456080286535588) * (x + A(0.044715) * x * x * x);  // sqrt(2/pi)
            return A(0.5) * x * (A(1) + ew_tanh(inner));
        } else if constexpr (Op == UnaryOp::Clamp) {
            // min then max, so min > max yields max everywhere (PyTorch); NaN propagates.
            const A t = x < a ? a : x;
            return t > b ? b : t;
        } else if constexpr (Op == UnaryOp::Pow) {
            return ew_pow(x, a);
        } else if constexpr (Op == UnaryOp::Square) {
            return x * x;
        } else if constexpr (Op == UnaryOp::AddScalar) {
            return x + a;
        } else if constexpr (Op == UnaryOp::MulScalar) {
            return x * a;
        } else if constexpr (Op == UnaryOp::DivScalar) {
            return x / a;  // a true division, not x * (1/a): matches PyTorch bit for bit
        } else if constexpr (Op == UnaryOp::RSubScalar) {
            return a - x;
        } else {
            static_assert(Op == UnaryOp::RDivScalar, "unhandled UnaryOp");
            return a / x;
        }
    }
};

// out = f(x, y); alpha scales the second operand of add/sub.
template <BinaryOp Op, typename A>
struct BinaryFn {
    A alpha;
    SEGCORE_HD A operator()(A x, A y) const {
        if constexpr (Op == BinaryOp::Add)
            return x + alpha * y;
        else if constexpr (Op == BinaryOp::Sub)
            return x - alpha * y;
        else if constexpr (Op == BinaryOp::Mul)
            return x * y;
        else if constexpr (Op == BinaryOp::Div)
            return x / y;
        // A NaN in either operand wins (torch.maximum/minimum), unlike std::max/fmax.
        else if constexpr (Op == BinaryOp::Maximum)
            return x != x ? x : (y != y ? y : (x > y ? x : y));
        else {
            static_assert(Op == BinaryOp::Minimum, "unhandled BinaryOp");
            return x != x ? x : (y != y ? y : (x < y ? x : y));
        }
    }
};

template <CompareOp Op>
struct CompareFn {
    template <typename A>
    SEGCORE_HD bool operator()(A x, A y) const {
        if constexpr (Op == CompareOp::Eq)
            return x == y;
        else if constexpr (Op == CompareOp::Ne)
            return x != y;
        else if constexpr (Op == CompareOp::Lt)
            return x < y;
        else if constexpr (Op == CompareOp::Le)
            return x <= y;
        else if constexpr (Op == CompareOp::Gt)
            return x > y;
        else {
            static_assert(Op == CompareOp::Ge, "unhandled CompareOp");
            return x >= y;
        }
    }
};

// visit_*_op(op, [&](auto tag) { constexpr auto O = decltype(tag)::value; ... }): turns the
// runtime op into a template argument once per call, so the inner loops carry no switch.
template <UnaryOp O>
using UnaryTag = std::integral_constant<UnaryOp, O>;
template <typename F>
decltype(auto) visit_unary_op(UnaryOp op, F&& f) {
    switch (op) {
        case UnaryOp::Neg:
            return f(UnaryTag<UnaryOp::Neg>{});
        case UnaryOp::Abs:
            return f(UnaryTag<UnaryOp::Abs>{});
        case UnaryOp::Exp:
            return f(UnaryTag<UnaryOp::Exp>{});
        case UnaryOp::Log:
            return f(UnaryTag<UnaryOp::Log>{});
        case UnaryOp::Sqrt:
            return f(UnaryTag<UnaryOp::Sqrt>{});
        case UnaryOp::Rsqrt:
            return f(UnaryTag<UnaryOp::Rsqrt>{});
        case UnaryOp::Sigmoid:
            return f(UnaryTag<UnaryOp::Sigmoid>{});
        case UnaryOp::Tanh:
            return f(UnaryTag<UnaryOp::Tanh>{});
        case UnaryOp::Relu:
            return f(UnaryTag<UnaryOp::Relu>{});
        case UnaryOp::Relu6:
            return f(UnaryTag<UnaryOp::Relu6>{});
        case UnaryOp::LeakyRelu:
            return f(UnaryTag<UnaryOp::LeakyRelu>{});
        case UnaryOp::Hardswish:
            return f(UnaryTag<UnaryOp::Hardswish>{});
        case UnaryOp::Gelu:
            return f(UnaryTag<UnaryOp::Gelu>{});
        case UnaryOp::GeluTanh:
            return f(UnaryTag<UnaryOp::GeluTanh>{});
        case UnaryOp::Clamp:
            return f(UnaryTag<UnaryOp::Clamp>{});
        case UnaryOp::Pow:
            return f(UnaryTag<UnaryOp::Pow>{});
        case UnaryOp::Square:
            return f(UnaryTag<UnaryOp::Square>{});
        case UnaryOp::AddScalar:
            return f(UnaryTag<UnaryOp::AddScalar>{});
        case UnaryOp::MulScalar:
            return f(UnaryTag<UnaryOp::MulScalar>{});
        case UnaryOp::DivScalar:
            return f(UnaryTag<UnaryOp::DivScalar>{});
        case UnaryOp::RSubScalar:
            return f(UnaryTag<UnaryOp::RSubScalar>{});
        case UnaryOp::RDivScalar:
            return f(UnaryTag<UnaryOp::RDivScalar>{});
    }
    SEGCORE_THROW("unknown UnaryOp ", int(op));
}

template <BinaryOp O>
using BinaryTag = std::integral_constant<BinaryOp, O>;
template <typename F>
decltype(auto) visit_binary_op(BinaryOp op, F&& f) {
    switch (op) {
        case BinaryOp::Add:
            return f(BinaryTag<BinaryOp::Add>{});
        case BinaryOp::Sub:
            return f(BinaryTag<BinaryOp::Sub>{});
        case BinaryOp::Mul:
            return f(BinaryTag<BinaryOp::Mul>{});
        case BinaryOp::Div:
            return f(BinaryTag<BinaryOp::Div>{});
        case BinaryOp::Maximum:
            return f(BinaryTag<BinaryOp::Maximum>{});
        case BinaryOp::Minimum:
            return f(BinaryTag<BinaryOp::Minimum>{});
    }
    SEGCORE_THROW("unknown BinaryOp ", int(op));
}

template <CompareOp O>
using CompareTag = std::integral_constant<CompareOp, O>;
template <typename F>
decltype(auto) visit_compare_op(CompareOp op, F&& f) {
    switch (op) {
        case CompareOp::Eq:
            return f(CompareTag<CompareOp::Eq>{});
        case CompareOp::Ne:
            return f(CompareTag<CompareOp::Ne>{});
        case CompareOp::Lt:
            return f(CompareTag<CompareOp::Lt>{});
        case CompareOp::Le:
            return f(CompareTag<CompareOp::Le>{});
        case CompareOp::Gt:
            return f(CompareTag<CompareOp::Gt>{});
        case CompareOp::Ge:
            return f(CompareTag<CompareOp::Ge>{});
    }
    SEGCORE_THROW("unknown CompareOp ", int(op));
}

}  // namespace segcore::kernels::ew
