// `segcore lab`: the kernel lab for performance engineers (apps/lab/lab.h, docs/kernel_lab.md).
#include <cstdio>
#include <sstream>

#include "apps/commands.h"
#include "apps/lab/lab.h"
#include "core/error.h"

namespace segcore::apps {

void add_lab_command(CLI::App& app) {
    auto* cmd = app.add_subcommand(
        "lab", "Check a kernel against the CPU oracle, then time it against its baseline on realistic shapes");
    auto op = std::make_shared<std::string>();
    auto suite = std::make_shared<std::string>("seg");
    auto dtypes = std::make_shared<std::string>("f32");
    auto device = std::make_shared<std::string>("cuda");
    auto json = std::make_shared<std::string>();
    auto repeats = std::make_shared<int>(10);
    auto list = std::make_shared<bool>(false);
    cmd->add_option("op", *op, "the registered op (see --list)");
    cmd->add_option("--suite", *suite, "shape suite: seg (realistic, default) or tiny")->capture_default_str();
    cmd->add_option("--dtype", *dtypes, "comma-separated dtypes: f32, f16, bf16 (f64 on the CPU)")->capture_default_str();
    cmd->add_option("--device", *device, "cuda, cuda:N or cpu")->capture_default_str();
    cmd->add_option("--repeats", *repeats, "timed repeats per case (the median is reported)")->capture_default_str();
    cmd->add_option("--json", *json, "also write the results to this JSON file");
    cmd->add_flag("--list", *list, "list the registered ops and their suites");
    cmd->callback([=] {
        if (*list || op->empty()) {
            std::printf("registered ops:\n");
            for (const auto& e : lab::registry()) {
                std::string suites;
                for (const auto& [name, cases] : e.suites) suites += (suites.empty() ? "" : ", ") + name;
                std::printf("  %-12s %s  [suites: %s]\n", e.name.c_str(), e.description.c_str(), suites.c_str());
            }
            if (!*list) throw CLI::RuntimeError(2);  // no op given: usage error after the listing
            return;
        }
        lab::RunOptions opt;
        opt.op = *op;
        opt.suite = *suite;
        opt.device = Device::parse(*device);
        opt.repeats = *repeats;
        opt.json_path = *json;
        opt.dtypes.clear();
        std::stringstream ss(*dtypes);
        for (std::string t; std::getline(ss, t, ',');) {
            if (t == "f32") opt.dtypes.push_back(DType::F32);
            else if (t == "f16") opt.dtypes.push_back(DType::F16);
            else if (t == "bf16") opt.dtypes.push_back(DType::BF16);
            else if (t == "f64") opt.dtypes.push_back(DType::F64);
            else SEGCORE_THROW("segcore lab: unknown dtype '", t, "' (expected f32, f16, bf16 or f64)");
        }
        const int failures = lab::run(opt);
        if (failures > 0) {
            std::fprintf(stderr, "segcore lab: %d case(s) failed the check against the CPU oracle\n", failures);
            throw CLI::RuntimeError(1);
        }
    });
}

}  // namespace segcore::apps
