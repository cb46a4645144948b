// segcore: the command line. Only apps/ turns segcore::Error into an exit code.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "apps/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
    CLI::App app{"segcore — semantic segmentation engine (C++/CUDA)"};
    app.require_subcommand(1);
    segcore::apps::add_devices_command(app);
    segcore::apps::add_demo_command(app);
    segcore::apps::add_info_command(app);
    segcore::apps::add_lab_command(app);
    segcore::apps::add_lint_command(app);
    segcore::apps::add_stats_command(app);
    segcore::apps::add_synth_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const segcore::Error& e) {
        std::fprintf(stderr, "segcore: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "segcore: unexpected error: %s\n", e.what());
        return 2;
    }
    return 0;
}
