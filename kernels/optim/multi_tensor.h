#pragma once
// Multi-tensor plumbing shared by the fused optimiser kernels (fused_optim.h) and the gradient
// helpers (grad_ops.h): a list of tensors is described once as raw pointers plus element counts,
// and every kernel walks it in fixed-size chunks.
//
// Chunking: tensor i is cut into ceil(numel[i] / kMultiTensorChunk) chunks; chunks of all tensors
// are numbered in list order. The CPU runs chunks under parallel_for, the CUDA kernels hand chunks
// to blocks (multi_tensor_cuda.cuh). Elementwise updates do not depend on the chunking; the L2 norm
// sums each chunk in a fixed order and combines chunk sums in chunk order, so its rounding depends
// on kMultiTensorChunk (fixed) and on nothing else (not threads, not blocks).
#include <cstdint>
#include <vector>

namespace segcore::kernels {

// Elements per chunk. 16384 f32 = 64 KiB per tensor operand: on CUDA a 256-thread block does 16
// float4 loads per thread per operand, and a ResNet-50 list gives ~1700 chunks, enough to balance
// 132 SMs.
inline constexpr int64_t kMultiTensorChunk = 16384;

// lists[k][i] is tensor i of list k; every tensor of column i has numel[i] contiguous elements.
// Lists that a kernel does not use may be empty (e.g. the momentum list of SGD without momentum).
template <typename T>
struct TensorLists {
    std::vector<int64_t> numel;
    std::vector<std::vector<T*>> lists;

    int64_t size() const { return int64_t(numel.size()); }
    int64_t num_chunks() const {
        int64_t c = 0;
        for (int64_t n : numel) c += (n + kMultiTensorChunk - 1) / kMultiTensorChunk;
        return c;
    }
};

// Step bookkeeping of updates that depend on the step count t (Adam's bias correction, SGD's first
// momentum step), designed so a step can be skipped on the device without a host sync:
//   step[i]     the host's count of step() calls that included tensor i, this one included;
//   skipped[i]  a device (or CPU) f32 counter of those calls skipped because *found_inf != 0, or
//               nullptr (never skipped).
// The kernels use t = step[i] - *skipped[i]. On a skipped call (found_inf set) one thread per tensor
// adds 1 to *skipped[i] and no block reads it (every block sees found_inf and returns before
// reading any step count); on any other call nobody writes it. So one launch both reads and updates
// the counter without a race and without atomics. Counters must be distinct per tensor.
struct StepCounts {
    std::vector<int64_t> step;
    std::vector<float*> skipped;  // empty, or one (nullable) pointer per tensor
};

// Loss scaling inputs, both optional, on the tensors' device (f32 scalars, as PyTorch's scaler).
//   inv_scale: gradients are read as grad * *inv_scale (the stored gradient is left unchanged);
//   found_inf: when *found_inf != 0 the whole update is skipped (parameters and state untouched).
struct GradScaling {
    const float* inv_scale = nullptr;
    const float* found_inf = nullptr;
};

}  // namespace segcore::kernels
