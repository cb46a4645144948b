#pragma once
// Each subcommand registers itself on the CLI11 app; its callback does the work and may throw
// segcore::Error, which main() reports.
#include <CLI/CLI.hpp>

namespace segcore::apps {

// Thrown by a command that ends with a specific exit status (e.g. 130 after SIGINT); main()
// returns it.
struct ExitStatus {
    int code;
};

void add_devices_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_lab_command(CLI::App& app);
void add_lint_command(CLI::App& app);
void add_stats_command(CLI::App& app);
void add_synth_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_bench_command(CLI::App& app);
}  // namespace segcore::apps
