#pragma once
// Each subcommand registers itself on the CLI11 app; its callback does the work and may throw
// segcore::Error, which main() reports.
#include <CLI/CLI.hpp>

namespace segcore::apps {
void add_devices_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_lab_command(CLI::App& app);
void add_lint_command(CLI::App& app);
void add_stats_command(CLI::App& app);
void add_synth_command(CLI::App& app);
}  // namespace segcore::apps
