#pragma once
// The kernel lab: one command for performance engineers (`segcore lab`, docs/kernel_lab.md).
//
// For a registered op and a named shape suite, each case runs in four steps on the chosen device:
//   1. build inputs (random, seeded) and run the op;
//   2. check the result against the CPU oracle in f64 (tolerance per dtype); a failed check is
//      reported and the case is not timed;
//   3. time ours and the baseline on the same inputs in the same run (CUDA events or the wall
//      clock; median of repeats after a warm-up);
//   4. report time, GB/s, TFLOP/s, the fraction of the copy bandwidth / matrix rate measured at
//      start-up on the same device, and the ratio to the baseline.
// Registering an op is one line: SEGCORE_LAB_OP(name, description, suites, make_fn).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace segcore::lab {

// One shape of a suite: named sizes the op's make function reads ("n", "c", "h", "w", ...).
struct Case {
    std::string name;
    std::map<std::string, int64_t> dims;
    int64_t at(const std::string& key) const;  // throws naming the missing size
};
using Suites = std::map<std::string, std::vector<Case>>;

// What make() returns for one case, dtype and device.
struct Workload {
    std::function<Tensor()> ours;            // runs the op; returns its (main) output
    std::function<Tensor()> oracle;          // the CPU reference in f64 on the same inputs
    std::function<void()> baseline;          // optional: the vendor or reference implementation
    std::string baseline_name;               // "cudnn", "cublas", "composite", ...
    double bytes = 0;                        // bytes the op must move at least once
    double flops = 0;                        // 0 for memory-bound ops
};

using MakeFn = std::function<Workload(const Case&, DType, Device)>;

struct OpEntry {
    std::string name, description;
    Suites suites;
    MakeFn make;
};

bool register_op(OpEntry e);
const std::vector<OpEntry>& registry();

#define SEGCORE_LAB_CONCAT2(a, b) a##b
#define SEGCORE_LAB_CONCAT(a, b) SEGCORE_LAB_CONCAT2(a, b)
#define SEGCORE_LAB_OP(name, description, suites, make) \
    static const bool SEGCORE_LAB_CONCAT(segcore_lab_registered_, __LINE__) = ::segcore::lab::register_op({name, description, suites, make})

struct RunOptions {
    std::string op, suite = "seg";
    std::vector<DType> dtypes = {DType::F32};
    Device device = Device::cuda();
    int repeats = 10;
    std::string json_path;  // empty: no JSON
};

// Runs the op over the suite and prints the table; returns the number of failed checks.
int run(const RunOptions& opt);

}  // namespace segcore::lab
