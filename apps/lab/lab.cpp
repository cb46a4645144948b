// The kernel lab runner (apps/lab/lab.h): peaks, checks, timing, the table and the JSON.
#include "apps/lab/lab.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/stream.h"
#include "kernels/linalg/matmul.h"
#include <cmath>

namespace segcore::lab {

int64_t Case::at(const std::string& key) const {
    auto it = dims.find(key);
    SEGCORE_CHECK(it != dims.end(), "lab case '", name, "' has no size '", key, "'");
    return it->second;
}

namespace {

std::vector<OpEntry>& mutable_registry() {
    static std::vector<OpEntry> r;
    return r;
}

void sync(Device d) {
    if (d.is_cuda()) stream_synchronize(current_stream());
}

// Median milliseconds of `repeats` runs after one warm-up.
double time_ms(const std::function<void()>& fn, Device d, int repeats) {
    fn();
    sync(d);
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
        if (d.is_cuda()) {
            Event a, b;
            a.record(current_stream());
            fn();
            b.record(current_stream());
            b.synchronize();
            t.push_back(a.elapsed_ms(b));
        } else {
            const auto t0 = std::chrono::steady_clock::now();
            fn();
            t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// Tolerances of the check against the f64 oracle, per dtype: the op's own rounding (16-bit outputs
// round once; long sums accumulate f32 rounding) with room for reductions over thousands of terms.
struct Tol {
    double atol, rtol;
};
Tol tolerance(DType t) {
    switch (t) {
        case DType::F64:
            return {1e-9, 1e-9};
        case DType::F16:
            return {4e-3, 4e-3};
        case DType::BF16:
            return {4e-2, 2e-2};
        default:
            return {1e-4, 1e-4};
    }
}

// "" when every element satisfies |got - want| <= atol + rtol |want| (NaN matches NaN); otherwise
// the worst element.
std::string compare(const Tensor& got_in, const Tensor& want_in, Tol tol) {
    if (got_in.shape() != want_in.shape())
        return "shape " + shape_str(got_in.shape()) + " vs oracle " + shape_str(want_in.shape());
    const Tensor got = got_in.to(Device::cpu(), DType::F64).contiguous();
    const Tensor want = want_in.to(Device::cpu(), DType::F64).contiguous();
    const double *g = got.data<double>(), *w = want.data<double>();
    int64_t bad = 0, worst = -1;
    double worst_excess = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
        if (std::isnan(g[i]) && std::isnan(w[i])) continue;
        const double err = std::fabs(g[i] - w[i]), limit = tol.atol + tol.rtol * std::fabs(w[i]);
        if (!(err <= limit)) {
            ++bad;
            if (worst < 0 || err - limit > worst_excess) worst = i, worst_excess = err - limit;
        }
    }
    if (bad == 0) return "";
    char buf[200];
    std::snprintf(buf, sizeof buf, "%lld of %lld differ; worst at %lld: %.6g vs %.6g", (long long)bad,
                  (long long)got.numel(), (long long)worst, g[worst], w[worst]);
    return buf;
}

struct Peaks {
    double copy_gbs = 0;     // measured device copy bandwidth (read + write bytes)
    double matrix_tflops = 0;  // measured GEMM rate in the dtype
};

Peaks measure_peaks(Device d, DType dt) {
    Peaks p;
    const int64_t n = d.is_cuda() ? (int64_t(1) << 28) : (int64_t(1) << 25);  // 1 GiB / 128 MiB of f32
    const Tensor src = zeros({n}, {DType::F32, d});
    Tensor dst = empty({n}, {DType::F32, d});
    const double ms = time_ms([&] { dst.copy_(src); }, d, 5);
    p.copy_gbs = 2.0 * double(src.nbytes()) / (ms * 1e6);
    const int64_t m = d.is_cuda() ? 8192 : 1024;
    const Tensor a = ones({m, m}, {dt == DType::F64 ? DType::F32 : dt, d}), b = ones({m, m}, {a.dtype(), d});
    Tensor c = empty({m, m}, {a.dtype(), d});
    const double gms = time_ms([&] { ops::matmul_out(c, a, b); }, d, 3);
    p.matrix_tflops = 2.0 * double(m) * double(m) * double(m) / (gms * 1e9);
    return p;
}

}  // namespace

bool register_op(OpEntry e) {
    mutable_registry().push_back(std::move(e));
    return true;
}

const std::vector<OpEntry>& registry() { return mutable_registry(); }

int run(const RunOptions& opt) {
    const OpEntry* entry = nullptr;
    std::string known;
    for (const OpEntry& e : registry()) {
        known += (known.empty() ? "" : ", ") + e.name;
        if (e.name == opt.op) entry = &e;
    }
    SEGCORE_CHECK(entry, "lab: unknown op '", opt.op, "' (registered: ", known, ")");
    auto suite = entry->suites.find(opt.suite);
    if (suite == entry->suites.end()) {
        std::string names;
        for (const auto& [k, v] : entry->suites) names += (names.empty() ? "" : ", ") + k;
        SEGCORE_THROW("lab: op '", opt.op, "' has no suite '", opt.suite, "' (it has: ", names, ")");
    }
    if (opt.device.is_cuda()) require_cuda("segcore lab");

    nlohmann::json out = {{"op", opt.op}, {"suite", opt.suite}, {"device", opt.device.str()}, {"cases", nlohmann::json::array()}};
    int failures = 0;
    std::printf("segcore lab: %s (%s), suite '%s' on %s\n", entry->name.c_str(), entry->description.c_str(),
                opt.suite.c_str(), opt.device.str().c_str());
    for (DType dt : opt.dtypes) {
        const Peaks peaks = measure_peaks(opt.device, dt);
        std::printf("  %s: measured copy bandwidth %.1f GB/s, matrix rate %.2f TFLOP/s\n", dtype_name(dt),
                    peaks.copy_gbs, peaks.matrix_tflops);
        out["peaks"][dtype_name(dt)] = {{"copy_gbs", peaks.copy_gbs}, {"matrix_tflops", peaks.matrix_tflops}};
        std::printf("  %-34s %-5s %-10s %10s %9s %9s %7s %10s %8s\n", "case", "dtype", "check", "ours ms", "GB/s",
                    "TFLOP/s", "%peak", "base ms", "speedup");
        for (const Case& c : suite->second) {
            const Workload w = entry->make(c, dt, opt.device);
            // Check first: a wrong kernel is not worth timing.
            const Tensor got = w.ours();
            sync(opt.device);
            const Tensor want = w.oracle();
            const std::string diff = compare(got, want, tolerance(dt));
            nlohmann::json jc = {{"case", c.name}, {"dtype", dtype_name(dt)}, {"check", diff.empty() ? "ok" : diff}};
            if (!diff.empty()) {
                ++failures;
                std::printf("  %-34s %-5s FAILED: %s\n", c.name.c_str(), dtype_name(dt), diff.c_str());
                out["cases"].push_back(jc);
                continue;
            }
            const double ms = time_ms([&] { (void)w.ours(); }, opt.device, opt.repeats);
            const double gbs = w.bytes / (ms * 1e6), tflops = w.flops / (ms * 1e9);
            const double pct = w.flops > 0 ? 100.0 * tflops / peaks.matrix_tflops : 100.0 * gbs / peaks.copy_gbs;
            double base_ms = 0;
            if (w.baseline) base_ms = time_ms(w.baseline, opt.device, opt.repeats);
            std::printf("  %-34s %-5s %-10s %10.3f %9.1f %9.2f %6.1f%% %10s %8s\n", c.name.c_str(), dtype_name(dt), "ok",
                        ms, gbs, tflops, pct, w.baseline ? std::to_string(base_ms).substr(0, 8).c_str() : "-",
                        w.baseline ? (std::to_string(base_ms / ms).substr(0, 5) + "x").c_str() : "-");
            jc.update({{"ms", ms}, {"gbs", gbs}, {"tflops", tflops}, {"percent_of_peak", pct},
                       {"peak_kind", w.flops > 0 ? "matrix" : "copy"}, {"bytes", w.bytes}, {"flops", w.flops}});
            if (w.baseline) jc.update({{"baseline", w.baseline_name}, {"baseline_ms", base_ms}, {"speedup", base_ms / ms}});
            out["cases"].push_back(jc);
        }
    }
    if (!opt.json_path.empty()) {
        std::ofstream f(opt.json_path);
        SEGCORE_CHECK(f, "lab: cannot write ", opt.json_path);
        f << out.dump(2) << "\n";
        std::printf("  wrote %s\n", opt.json_path.c_str());
    }
    return failures;
}

}  // namespace segcore::lab
