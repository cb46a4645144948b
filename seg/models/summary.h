#pragma once
// Model summary (`segcore info`): one forward pass with a ModuleCallObserver records,
// for every leaf layer call, its output shape, its own parameters, its FLOPs and the bytes of its
// output; the totals and an estimate of peak training memory for a batch, crop and precision tell
// a user before step 1 whether a run will fit.
//
// FLOPs: 2 per multiply-add for convolutions, transposed convolutions and linear layers (bias
// adds counted); 2 per element for batch norm (scale and shift; the fused activation is free);
// 1 per output element for everything else (pooling, resizing, activations). Nothing in the
// forward that is not a module (concat, add, the final resize of functional code) is counted.
//
// Training memory (estimate_training_memory): parameters, gradients and optimiser state in f32
// (SGD momentum 1x, Adam/AdamW 2x the parameters), plus activations: every leaf output of the
// summary run scaled by the batch, at the precision's element size (f32: 4 bytes, f16/bf16: 2),
// because autograd keeps roughly one tensor per layer for the backward pass; plus the logits and
// their gradient in f32 for the loss; plus 10% for the allocator's rounding and workspaces.
// It is an estimate: tests/seg/test_summary.cpp checks it against the CPU allocator's measured
// peak of a real training step.
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "nn/module.h"
#include "seg/models/model.h"

namespace segcore::seg {

struct LayerRow {
    std::string name;  // dotted module path ("encoder.layer1.0.conv1"); calls repeat for shared modules
    std::string type;  // "Conv2d"
    Shape output;
    int64_t params = 0;        // the module's own parameters (shared modules count once in totals)
    double flops = 0;          // for this call at the summary's batch size
    int64_t output_elems = 0;  // elements of the output
};

struct ModelSummary {
    std::string model;  // type name
    Shape input;        // (1, C, H, W)
    std::vector<LayerRow> rows;
    Shape output;       // the logits
    int64_t aux_heads = 0;
    int64_t total_params = 0, trainable_params = 0;
    double total_flops = 0;
    int64_t activation_elems = 0;  // sum of the leaf outputs (per image)
};

// Runs `model` once on zeros of shape (2, in_channels, h, w) in training mode (so auxiliary heads
// run; two images because batch norm over pooled 1x1 maps needs more than one value) without
// recording a graph, and reports everything per image; batch-norm running statistics are restored.
ModelSummary summarize_model(SegModel& model, int64_t in_channels, int64_t h, int64_t w);

struct MemoryEstimate {
    int64_t params = 0, grads = 0, optimizer = 0, activations = 0, loss = 0, slack = 0;
    int64_t total() const { return params + grads + optimizer + activations + loss + slack; }
};

// optimizer: "sgd" (momentum), "adam", "adamw" or "none"; precision f32, f16 or bf16.
MemoryEstimate estimate_training_memory(const ModelSummary& s, int64_t batch, DType precision,
                                        const std::string& optimizer = "adamw");

// The per-layer table and totals as text (PyTorch-summary style), with the memory estimate.
std::string format_summary(const ModelSummary& s, const MemoryEstimate& m, int64_t batch, DType precision);
// The same as JSON text (rows, totals, estimate).
std::string summary_json(const ModelSummary& s, const MemoryEstimate& m, int64_t batch, DType precision);

}  // namespace segcore::seg
