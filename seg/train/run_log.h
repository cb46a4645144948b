#pragma once
// What a training run tells the user and leaves behind for tools:
//   console   a progress bar on a terminal (epoch, iteration, loss, lr, images/s, ETA) redrawn in
//             place on stderr, or one line per logging.interval iterations when the output is a
//             file or a pipe (CI logs stay readable); epoch summaries and messages on stdout
//   log.jsonl one JSON object per line: "start", "step" (every logging.interval iterations),
//             "eval", "epoch", "checkpoint", "end"; flushed per line, appended on resume
//   metrics.csv  one row per evaluation: epoch, iteration, train loss, the validation metrics, lr,
//             seconds, images/s and each class's IoU; appended on resume (header written once)
// A write that fails (a full disk) throws segcore::Error naming the file.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "seg/train/train_config.h"

namespace segcore::seg {

struct ProgressState {
    int64_t epoch = 0, epochs = 0;  // epochs 0: iteration mode
    int64_t iter = 0, total_iters = 0;
    double loss = 0, lr = 0, images_per_s = 0, eta_s = 0;
};

class RunLog {
public:
    RunLog(const std::string& dir, const LoggingSection& cfg, const std::vector<std::string>& class_names);
    ~RunLog();
    RunLog(const RunLog&) = delete;
    RunLog& operator=(const RunLog&) = delete;

    void progress(const ProgressState& s);  // redraw the bar / print a line (rate-limited)
    void record(const nlohmann::json& rec); // one JSONL line
    void csv_row(const nlohmann::json& eval_record);
    void print(const std::string& text);    // a message on stdout (clears the bar first)

    static std::string format_duration(double seconds);  // "1h02m", "3m05s", "42s"

private:
    void clear_bar();
    LoggingSection cfg_;
    std::vector<std::string> classes_;
    bool bar_ = false, bar_visible_ = false;
    std::filesystem::path jsonl_path_, csv_path_;
    std::FILE* jsonl_ = nullptr;
    std::FILE* csv_ = nullptr;
    std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace segcore::seg
