// `segcore stats <spec> [--split train] [--json out]`: class pixel frequencies of a split and
// class weights (median frequency, inverse sqrt, ENet) as JSON arrays ready to paste into a config.
#include <cstdio>
#include <string>

#include "apps/commands.h"
#include "data/dataset_spec.h"
#include "data/file_util.h"
#include "data/stats.h"

namespace segcore::apps {

void add_stats_command(CLI::App& app) {
    struct Options {
        std::string spec, split = "train", json;
    };
    static Options o;
    auto* cmd = app.add_subcommand("stats", "Class frequencies and class weights of a dataset split");
    cmd->add_option("spec", o.spec, "dataset spec (JSON)")->required();
    cmd->add_option("--split", o.split, "split to count (default: train)");
    cmd->add_option("--json", o.json, "also write everything as JSON to this file");
    cmd->callback([] {
        const data::DatasetSpec spec = data::load_dataset_spec(o.spec);
        const data::ClassStats s = data::compute_class_stats(spec, o.split);
        std::printf("segcore stats: %s\n%s", o.spec.c_str(), data::stats_to_text(s).c_str());
        if (!o.json.empty()) {
            const std::string text = data::stats_to_json_text(s) + "\n";
            data::write_file_atomic(o.json, text.data(), text.size());
            std::printf("written to %s\n", o.json.c_str());
        }
    });
}

}  // namespace segcore::apps
