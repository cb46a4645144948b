// `segcore lint <spec> [--split s] [--json out]`: check a dataset before training on it — missing
// pairs, unreadable files, size mismatches, labels outside the classes, colour masks where index
// masks are expected, classes that never occur. Exits 1 when any error is found.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "core/error.h"
#include "data/dataset_spec.h"
#include "data/file_util.h"
#include "data/lint.h"

namespace segcore::apps {

namespace {

struct LintCommandOptions {
    std::string spec, split, json;
    int examples = 5;
};

void run_lint(const LintCommandOptions& o) {
    const data::DatasetSpec spec = data::load_dataset_spec(o.spec);
    data::LintOptions lo;
    lo.max_examples = o.examples;
    std::vector<data::LintReport> reports;
    if (o.split.empty())
        reports = data::lint_dataset(spec, lo);
    else
        reports.push_back(data::lint_split(spec, o.split, lo));

    std::printf("segcore lint: %s (format %s, root %s)\n", o.spec.c_str(), spec.format.c_str(), spec.root.c_str());
    int64_t errors = 0, warnings = 0;
    for (const auto& r : reports) {
        std::printf("%s", r.to_text().c_str());
        errors += r.errors();
        warnings += r.warnings();
    }
    std::printf("%s: %lld error(s), %lld warning(s)\n", errors ? "FAILED" : "OK", (long long)errors,
                (long long)warnings);
    if (!o.json.empty()) {
        nlohmann::ordered_json j;
        j["spec"] = o.spec;
        j["errors"] = errors;
        j["warnings"] = warnings;
        j["splits"] = nlohmann::ordered_json::array();
        for (const auto& r : reports) j["splits"].push_back(nlohmann::ordered_json::parse(r.to_json_text()));
        const std::string text = j.dump(2) + "\n";
        data::write_file_atomic(o.json, text.data(), text.size());
        std::printf("report written to %s\n", o.json.c_str());
    }
    std::fflush(stdout);
    if (errors) throw CLI::RuntimeError(1);  // main() turns it into exit code 1 without another message
}

}  // namespace

void add_lint_command(CLI::App& app) {
    static LintCommandOptions o;
    auto* cmd = app.add_subcommand("lint", "Check a dataset spec's files: pairs, sizes, labels, classes");
    cmd->add_option("spec", o.spec, "dataset spec (JSON)")->required();
    cmd->add_option("--split", o.split, "only this split (default: every split)");
    cmd->add_option("--json", o.json, "also write the report as JSON to this file");
    cmd->add_option("--examples", o.examples, "example files listed per problem")->check(CLI::NonNegativeNumber);
    cmd->callback([] { run_lint(o); });
}

}  // namespace segcore::apps
