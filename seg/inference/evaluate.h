#pragma once
// Evaluation of a segmentation model on one split of a dataset: the loop that `segcore eval` runs
// and that the trainer calls for validation, so both report the same numbers bit for bit (same
// model, transforms, inference options and batch size give the same confusion matrix).
//
//   for each batch of the split (in order, no shuffling, the given transforms):
//       P    = infer_probabilities(model, images, opt)      (seg/inference/infer.h)
//       pred = argmax_c P                                    (first maximum on ties)
//       confusion matrix += (labels, pred)                   (seg/metrics/metrics.h, on the device)
//       boundary counts  += (pred, labels)                   (seg/metrics/boundary.h, on the CPU)
//   metrics = compute_metrics(confusion), boundary F1 from the summed counts
//
// The model is put in eval mode for the run and its previous mode is restored afterwards; it must
// already be on settings.device (the batches are delivered there). The caller's autocast state
// applies to the forward passes: run outside autocast for f32 numbers.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/device.h"
#include "data/dataset_spec.h"
#include "data/loader.h"
#include "seg/inference/infer.h"
#include "seg/metrics/boundary.h"
#include "seg/metrics/metrics.h"

namespace segcore::seg {

struct EvalSettings {
    int64_t batch_size = 1;  // images of one batch must share a size (batch 1 takes any sizes)
    int num_workers = 2;     // loader threads (0 = load on the calling thread)
    Device device = Device::cpu();
    bool boundary_f1 = true;          // costs a CPU pass (distance transforms) over every prediction
    double boundary_tolerance = 2.0;  // pixels
    // Called after every batch with (images done, images in the split); e.g. a progress line.
    std::function<void(int64_t done, int64_t total)> progress;
};

struct EvalResult {
    SegMetrics metrics;
    BoundaryF1Result boundary;       // mean_f1 NaN and empty vectors when boundary F1 was off
    std::vector<int64_t> confusion;  // K x K, row-major, rows = ground truth, columns = prediction
    int64_t images = 0;
    double seconds = 0;  // wall time of the loop (loading included)
};

// Evaluates `model` on `split` of the dataset `spec` describes, reading each sample through the
// transform pipeline `transforms` (a JSON array, data/transforms.h; normally the model card's
// "preprocessing"). Throws when the split is empty or has no masks.
EvalResult evaluate_model(SegModel& model, const data::DatasetSpec& spec, const std::string& split,
                          const nlohmann::json& transforms, const InferOptions& opt, const EvalSettings& settings);

// The same loop over an existing loader (it should not shuffle; its device must be
// settings.device). Runs one epoch (epoch 0) of it. batch_size and num_workers of `settings` are
// unused (the loader has its own).
EvalResult evaluate_loader(SegModel& model, data::Loader& loader, int64_t num_classes, int32_t ignore_index,
                           const InferOptions& opt, const EvalSettings& settings);

// The per-class table (format_class_table) with boundary F1 per class appended, then the summary:
// mIoU, pixel accuracy, mean accuracy, FWIoU, mean Dice, mean boundary F1.
std::string format_eval_report(const EvalResult& r, const std::vector<std::string>& classes);

// Every number as JSON: summary metrics, per-class arrays, the confusion matrix, counts; `info`
// (model, dataset, split, inference options, ...) is merged in at the top level.
nlohmann::json eval_result_json(const EvalResult& r, const std::vector<std::string>& classes,
                                const nlohmann::json& info = nlohmann::json::object());

// Writes <dir>/confusion.csv (class names as header row and first column; rows = ground truth),
// <dir>/metrics.json (eval_result_json) and <dir>/per_class.csv; creates dir; files written atomically.
void write_eval_outputs(const EvalResult& r, const std::vector<std::string>& classes, const std::string& dir,
                        const nlohmann::json& info = nlohmann::json::object());

}  // namespace segcore::seg
