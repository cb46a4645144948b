// segcore: the command line. Only apps/ turns segcore::Error into an exit code.
//
// Exit status (scripts may rely on these):
//   0    success (for train: finished or stopped early by early stopping)
//   1    an error with a message on stderr: bad config or data, missing file, non-finite loss, ...
//   2    an unexpected internal error
//   130  train interrupted by SIGINT (143: SIGTERM) after saving a checkpoint
//   100+ command-line usage errors (CLI11's codes, e.g. 105 for an unknown subcommand flag)
#include <CLI/CLI.hpp>

#include <cstdio>

#include "apps/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
    CLI::App app{"segcore — semantic segmentation engine (C++/CUDA)"};
    app.require_subcommand(1);
    segcore::apps::add_train_command(app);
    segcore::apps::add_eval_command(app);
    segcore::apps::add_predict_command(app);
    segcore::apps::add_bench_command(app);
    segcore::apps::add_devices_command(app);
    segcore::apps::add_info_command(app);
    segcore::apps::add_lab_command(app);
    segcore::apps::add_lint_command(app);
    segcore::apps::add_stats_command(app);
    segcore::apps::add_synth_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const segcore::apps::ExitStatus& e) {
        return e.code;
    } catch (const segcore::Error& e) {
        std::fprintf(stderr, "segcore: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "segcore: unexpected error: %s\n", e.what());
        return 2;
    }
    return 0;
}
