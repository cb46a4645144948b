#include "seg/train/run_log.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace segcore::seg {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const char* kCsvColumns[] = {"epoch",      "iter",        "train_loss",    "val_miou", "val_pixel_accuracy",
                             "val_mean_accuracy", "val_fwiou", "val_mean_dice", "lr", "seconds", "images_per_s"};

std::FILE* open_append(const fs::path& p) {
    std::FILE* f = std::fopen(p.c_str(), "a");
    SEGCORE_CHECK(f, "cannot open ", p.string(), " for writing: ", std::strerror(errno));
    return f;
}

// One line, flushed; a failed write (a full disk) is an error naming the file, never ignored:
// training on without its records would leave logs that silently miss evaluations.
void write_line(std::FILE* f, const fs::path& p, const std::string& line) {
    const bool ok = std::fputs(line.c_str(), f) >= 0 && std::fputc('\n', f) != EOF && std::fflush(f) == 0;
    SEGCORE_CHECK(ok, "cannot write to ", p.string(), ": ", std::strerror(errno));
}

// CSV numbers: NaN (an undefined metric) as an empty cell, everything else with full precision.
std::string cell(const json& v) {
    if (v.is_null()) return "";
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (!std::isfinite(d)) return "";
        char b[32];
        std::snprintf(b, sizeof b, "%.6g", d);
        return b;
    }
    if (v.is_string()) return v.get<std::string>();
    return v.dump();
}

}  // namespace

RunLog::RunLog(const std::string& dir, const LoggingSection& cfg, const std::vector<std::string>& class_names)
    : cfg_(cfg), classes_(class_names) {
    fs::create_directories(dir);
    bar_ = cfg.progress == "bar" || (cfg.progress == "auto" && isatty(fileno(stderr)));
    jsonl_path_ = fs::path(dir) / "log.jsonl";
    csv_path_ = fs::path(dir) / "metrics.csv";
    if (cfg.jsonl) jsonl_ = open_append(jsonl_path_);
    if (cfg.csv) {
        std::error_code ec;  // not a regular file (a device, say): no size, write the header
        const bool fresh = !fs::is_regular_file(csv_path_, ec) || fs::file_size(csv_path_, ec) == 0;
        csv_ = open_append(csv_path_);
        if (fresh) {
            std::string header;
            for (const char* c : kCsvColumns) header += std::string(header.empty() ? "" : ",") + c;
            for (const std::string& c : classes_) header += ",iou_" + c;
            write_line(csv_, csv_path_, header);
        }
    }
}

RunLog::~RunLog() {
    clear_bar();
    if (jsonl_) std::fclose(jsonl_);
    if (csv_) std::fclose(csv_);
}

std::string RunLog::format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    const int64_t t = int64_t(std::llround(s));
    char b[32];
    if (t >= 3600)
        std::snprintf(b, sizeof b, "%lldh%02lldm", (long long)(t / 3600), (long long)(t % 3600 / 60));
    else if (t >= 60)
        std::snprintf(b, sizeof b, "%lldm%02llds", (long long)(t / 60), (long long)(t % 60));
    else
        std::snprintf(b, sizeof b, "%llds", (long long)t);
    return b;
}

void RunLog::clear_bar() {
    if (!bar_visible_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    bar_visible_ = false;
}

void RunLog::progress(const ProgressState& s) {
    if (cfg_.progress == "off") return;
    char where[64];
    if (s.epochs > 0)
        std::snprintf(where, sizeof where, "epoch %lld/%lld", (long long)s.epoch + 1, (long long)s.epochs);
    else
        std::snprintf(where, sizeof where, "iter");
    char tail[160];
    std::snprintf(tail, sizeof tail, "%lld/%lld it  loss %.4f  lr %.3g  %.1f img/s  ETA %s", (long long)s.iter,
                  (long long)s.total_iters, s.loss, s.lr, s.images_per_s, format_duration(s.eta_s).c_str());
    if (bar_) {
        // Redraw at most 10 times a second: a terminal is slow next to a tiny model's steps.
        const auto now = std::chrono::steady_clock::now();
        if (s.iter != s.total_iters && now - last_draw_ < std::chrono::milliseconds(100)) return;
        last_draw_ = now;
        const int width = 24;
        const double frac = s.total_iters ? double(s.iter) / double(s.total_iters) : 0;
        const int filled = int(frac * width);
        std::string bar(size_t(filled), '#');
        bar += std::string(size_t(width - filled), '.');
        std::fprintf(stderr, "\r\033[K[%s] %s %3.0f%% %s", where, bar.c_str(), 100 * frac, tail);
        std::fflush(stderr);
        bar_visible_ = true;
    } else if (s.iter % cfg_.interval == 0 || s.iter == s.total_iters) {
        std::printf("  [%s] %s\n", where, tail);
        std::fflush(stdout);
    }
}

void RunLog::record(const json& rec) {
    if (!jsonl_) return;
    write_line(jsonl_, jsonl_path_, rec.dump());
}

void RunLog::csv_row(const json& r) {
    if (!csv_) return;
    std::string line;
    for (const char* c : kCsvColumns) line += std::string(line.empty() ? "" : ",") + cell(r.value(c, json()));
    const json iou = r.value("val_iou", json::array());
    for (size_t c = 0; c < classes_.size(); ++c) line += "," + (c < iou.size() ? cell(iou[c]) : std::string());
    write_line(csv_, csv_path_, line);
}

void RunLog::print(const std::string& text) {
    clear_bar();
    std::fputs(text.c_str(), stdout);
    if (!text.empty() && text.back() != '\n') std::fputc('\n', stdout);
    std::fflush(stdout);
}

}  // namespace segcore::seg
