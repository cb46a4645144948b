// The evaluation loop shared by `segcore eval` and the trainer (seg/inference/evaluate.h).
#include "seg/inference/evaluate.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "data/dataset.h"
#include "data/file_util.h"
#include "data/transforms.h"
#include "kernels/reduce/reduce.h"
#include "seg/inference/input_size.h"

namespace segcore::seg {

using json = nlohmann::json;

namespace {

// Puts a model in eval mode for a scope and restores its previous mode, also on errors.
class EvalModeGuard {
public:
    explicit EvalModeGuard(SegModel& m) : model_(m), was_training_(m.is_training()) { model_.eval(); }
    ~EvalModeGuard() { model_.train(was_training_); }
    EvalModeGuard(const EvalModeGuard&) = delete;
    EvalModeGuard& operator=(const EvalModeGuard&) = delete;

private:
    SegModel& model_;
    bool was_training_;
};

void check_model_device(const SegModel& model, Device device) {
    for (const autograd::Variable& p : model.parameters()) {
        SEGCORE_CHECK(p.device() == device, "evaluate: the model's parameters are on ", p.device().str(),
                      " but the evaluation runs on ", device.str(), " (move the model with model.to(device))");
        break;  // Module::to moves all parameters together; one is enough
    }
}

std::string name_of(const std::vector<std::string>& classes, size_t c) {
    return c < classes.size() ? classes[c] : std::to_string(c);
}

// A CSV field: quoted when it holds a separator, a quote or a line break.
std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

// One CSV line (fields quoted as needed), newline included.
std::string csv_row(const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
        if (i) line.push_back(',');
        line.append(csv_field(cells[i]));
    }
    line.push_back('\n');
    return line;
}

// Numbers for CSV: full precision; undefined (NaN) values are empty cells.
std::string csv_number(double v) {
    if (std::isnan(v)) return "";
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", v);
    return buf;
}

// NaN is not JSON: undefined values are null.
json json_number(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
json json_numbers(const std::vector<double>& v) {
    json a = json::array();
    for (double x : v) a.push_back(json_number(x));
    return a;
}

std::string pct(double v) {
    if (std::isnan(v)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.2f%%", 100.0 * v);
    return buf;
}

// One top-level key per line; a value that holds containers (per_class, confusion) gets one line
// per element, so a 19 x 19 confusion matrix reads as 19 rows instead of 400 lines.
std::string readable_json(const json& j) {
    std::string out = "{\n";
    size_t i = 0;
    for (const auto& [key, value] : j.items()) {
        out += "  " + json(key).dump() + ": ";
        bool nested = false;
        for (const auto& e : value) nested = nested || (value.is_structured() && e.is_structured());
        if (!nested) {
            out += value.dump();
        } else {
            const bool obj = value.is_object();
            out += obj ? "{\n" : "[\n";
            size_t k = 0;
            for (const auto& [sub_key, sub] : value.items()) {
                out += "    ";
                if (obj) out += json(sub_key).dump() + ": ";
                out += sub.dump();
                out += ++k < value.size() ? ",\n" : "\n";
            }
            out += obj ? "  }" : "  ]";
        }
        out += ++i < j.size() ? ",\n" : "\n";
    }
    return out + "}\n";
}

void write_text(const std::string& path, const std::string& text) {
    data::write_file_atomic(path, text.data(), text.size());
}

}  // namespace

EvalResult evaluate_loader(SegModel& model, data::Loader& loader, int64_t num_classes, int32_t ignore_index,
                           const InferOptions& opt, const EvalSettings& settings) {
    opt.validate();
    SEGCORE_CHECK(loader.options().device == settings.device, "evaluate: the loader delivers batches to ",
                  loader.options().device.str(), " but the evaluation runs on ", settings.device.str());
    check_model_device(model, settings.device);
    SEGCORE_CHECK(model.num_classes() == num_classes, "evaluate: the model predicts ", model.num_classes(),
                  " classes but the dataset has ", num_classes);
    const auto t0 = std::chrono::steady_clock::now();
    EvalModeGuard eval_mode(model);

    MetricAccumulator acc(num_classes, ignore_index, settings.device);
    BoundaryF1Options bo;
    bo.num_classes = num_classes;
    bo.ignore_index = ignore_index;
    bo.tolerance = settings.boundary_tolerance;
    BoundaryF1Accumulator boundary(bo);

    EvalResult r;
    const int64_t total = loader.num_samples();
    loader.start_epoch(0);
    data::Batch b;
    while (loader.next(b)) {
        SEGCORE_CHECK(b.labels.defined(),
                      "evaluate: the split has no masks (evaluation needs ground truth; use "
                      "`segcore predict` for unlabelled images)");
        Tensor probs;
        try {
            probs = infer_probabilities(model, b.images, opt);
        } catch (const Error&) {
            std::string what = "sample";
            for (size_t i = 0; i < b.ids.size(); ++i) what += (i ? ", '" : " '") + b.ids[i] + "'";
            explain_input_size_failure(model, b.images, opt, what);  // throws when the images are too small
            throw;
        }
        // The labels go to both metrics, so the confusion matrix and boundary F1 see one prediction.
        const Tensor pred = ops::argmax(probs, 1);
        acc.update(pred, b.labels);
        if (settings.boundary_f1) boundary.update(pred, b.labels);
        r.images += b.size();
        if (settings.progress) settings.progress(r.images, total);
    }
    r.metrics = acc.compute();
    if (settings.boundary_f1) {
        r.boundary = boundary.compute();
    } else {
        r.boundary.mean_f1 = std::nan("");
    }
    const Tensor conf = acc.confusion().cpu().contiguous();
    r.confusion.assign(conf.data<int64_t>(), conf.data<int64_t>() + conf.numel());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

EvalResult evaluate_model(SegModel& model, const data::DatasetSpec& spec, const std::string& split,
                          const json& transforms, const InferOptions& opt, const EvalSettings& settings) {
    data::TransformContext ctx;
    ctx.ignore_index = spec.ignore_index;
    data::Compose pipeline = data::Compose::from_json(transforms, ctx, "preprocessing");
    std::shared_ptr<const data::Dataset> ds = data::open_dataset(spec, split);
    SEGCORE_CHECK(ds->size() > 0, "evaluate: split \"", split, "\" of ",
                  spec.spec_path.empty() ? spec.name : spec.spec_path, " has no samples");
    data::LoaderOptions lo;
    lo.batch_size = settings.batch_size;
    lo.num_workers = settings.num_workers;
    lo.shuffle = false;
    lo.drop_last = false;
    lo.device = settings.device;
    data::Loader loader(ds, std::move(pipeline), lo);
    return evaluate_loader(model, loader, spec.num_classes(), spec.ignore_index, opt, settings);
}

std::string format_eval_report(const EvalResult& r, const std::vector<std::string>& classes) {
    const SegMetrics& m = r.metrics;
    std::ostringstream os;
    // The metrics table, each class row followed by its boundary F1.
    std::istringstream table(format_class_table(m, classes));
    std::string line;
    int64_t row = -1;  // -1: the header
    const bool bf = !r.boundary.f1.empty();
    while (std::getline(table, line)) {
        if (row >= m.num_classes) break;  // the summary line: replaced below
        if (bf) {
            // Percent without the sign, like the table's other columns.
            char cell[32];
            const double f1 = row < 0 ? 0.0 : r.boundary.f1[size_t(row)];
            if (row < 0)
                std::snprintf(cell, sizeof(cell), " %8s", "BF1");
            else if (std::isnan(f1))
                std::snprintf(cell, sizeof(cell), " %8s", "-");
            else
                std::snprintf(cell, sizeof(cell), " %8.2f", 100.0 * f1);
            // Insert the column before any "(absent...)" remark so the columns stay aligned.
            const size_t remark = line.find("  (absent");
            if (remark == std::string::npos)
                line += cell;
            else
                line.insert(remark, cell);
        }
        os << line << "\n";
        ++row;
    }
    os << "mIoU            " << pct(m.miou) << "   (" << m.classes_evaluated << " of " << m.num_classes
       << " classes evaluated)\n";
    os << "pixel accuracy  " << pct(m.pixel_accuracy) << "   (" << m.total << " pixels)\n";
    os << "mean accuracy   " << pct(m.mean_accuracy) << "\n";
    os << "FWIoU           " << pct(m.fwiou) << "\n";
    os << "mean Dice       " << pct(m.mean_dice) << "\n";
    if (bf) os << "boundary F1     " << pct(r.boundary.mean_f1) << "\n";
    return os.str();
}

json eval_result_json(const EvalResult& r, const std::vector<std::string>& classes, const json& info) {
    const SegMetrics& m = r.metrics;
    json j = info.is_object() ? info : json::object();
    json names = json::array();
    for (int64_t c = 0; c < m.num_classes; ++c) names.push_back(name_of(classes, size_t(c)));
    j["classes"] = names;
    j["images"] = r.images;
    j["pixels"] = m.total;
    j["seconds"] = r.seconds;
    j["miou"] = json_number(m.miou);
    j["pixel_accuracy"] = json_number(m.pixel_accuracy);
    j["mean_accuracy"] = json_number(m.mean_accuracy);
    j["fwiou"] = json_number(m.fwiou);
    j["mean_dice"] = json_number(m.mean_dice);
    j["classes_evaluated"] = m.classes_evaluated;
    j["boundary_f1"] = json_number(r.boundary.mean_f1);
    j["per_class"] = {{"iou", json_numbers(m.iou)},
                      {"dice", json_numbers(m.dice)},
                      {"precision", json_numbers(m.precision)},
                      {"recall", json_numbers(m.recall)},
                      {"true_positive", m.true_positive},
                      {"gt_pixels", m.gt_pixels},
                      {"pred_pixels", m.pred_pixels},
                      {"present", m.present},
                      {"boundary_precision", json_numbers(r.boundary.precision)},
                      {"boundary_recall", json_numbers(r.boundary.recall)},
                      {"boundary_f1", json_numbers(r.boundary.f1)}};
    json conf = json::array();
    for (int64_t i = 0; i < m.num_classes; ++i)
        conf.push_back(std::vector<int64_t>(r.confusion.begin() + i * m.num_classes,
                                            r.confusion.begin() + (i + 1) * m.num_classes));
    j["confusion"] = conf;
    return j;
}

void write_eval_outputs(const EvalResult& r, const std::vector<std::string>& classes, const std::string& dir,
                        const json& info) {
    const SegMetrics& m = r.metrics;
    const int64_t k = m.num_classes;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    SEGCORE_CHECK(!ec, "cannot create the output folder ", dir, ": ", ec.message());

    std::vector<std::string> cells = {"ground truth \\ prediction"};
    for (int64_t c = 0; c < k; ++c) cells.push_back(name_of(classes, size_t(c)));
    std::string conf = csv_row(cells);
    for (int64_t i = 0; i < k; ++i) {
        cells = {name_of(classes, size_t(i))};
        for (int64_t c = 0; c < k; ++c) cells.push_back(std::to_string(r.confusion[size_t(i * k + c)]));
        conf += csv_row(cells);
    }
    write_text(data::join_path(dir, "confusion.csv"), conf);

    const bool bf = !r.boundary.f1.empty();
    cells = {"class", "iou", "dice", "precision", "recall", "gt_pixels", "pred_pixels", "present"};
    if (bf) cells.insert(cells.end(), {"boundary_precision", "boundary_recall", "boundary_f1"});
    std::string pc = csv_row(cells);
    for (int64_t c = 0; c < k; ++c) {
        const size_t i = size_t(c);
        cells = {name_of(classes, i),
                 csv_number(m.iou[i]),
                 csv_number(m.dice[i]),
                 csv_number(m.precision[i]),
                 csv_number(m.recall[i]),
                 std::to_string(m.gt_pixels[i]),
                 std::to_string(m.pred_pixels[i]),
                 m.present[i] ? "1" : "0"};
        if (bf)
            cells.insert(cells.end(), {csv_number(r.boundary.precision[i]), csv_number(r.boundary.recall[i]),
                                       csv_number(r.boundary.f1[i])});
        pc += csv_row(cells);
    }
    write_text(data::join_path(dir, "per_class.csv"), pc);

    write_text(data::join_path(dir, "metrics.json"), readable_json(eval_result_json(r, classes, info)));
}

}  // namespace segcore::seg
