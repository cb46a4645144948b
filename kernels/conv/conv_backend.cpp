// Convolution backend selection and the per-shape autotune cache (kernels/conv/conv_backend.h).
#include "kernels/conv/conv_backend.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>

#include "core/error.h"

namespace segcore::kernels {

namespace {

ConvBackend initial_backend() {
    const char* env = std::getenv("SEGCORE_CONV_BACKEND");
    if (!env || !*env) return ConvBackend::Native;
    return parse_conv_backend(env);
}

struct State {
    std::mutex mu;
    ConvBackend global = initial_backend();
    std::map<std::string, ConvTuneRecord> cache;
};

State& state() {
    static State s;
    return s;
}

const char* pass_name(ConvPass p) {
    switch (p) {
        case ConvPass::Forward:
            return "forward";
        case ConvPass::BackwardInput:
            return "backward_input";
        case ConvPass::BackwardWeight:
            return "backward_weight";
    }
    return "?";
}

std::string tune_key(ConvPass pass, const Conv2dParams& p, DType dt) {
    std::ostringstream os;
    os << pass_name(pass) << " " << dtype_name(dt) << " x(" << p.n << "," << p.c << "," << p.h << "," << p.w << ") w("
       << p.k << "," << p.c / p.groups << "," << p.r << "," << p.s << ") s" << p.stride_h << "," << p.stride_w << " p"
       << p.pad_h << "," << p.pad_w << " d" << p.dil_h << "," << p.dil_w << " g" << p.groups;
    return os.str();
}

// Median of three timed runs after one warm-up, in milliseconds.
float time_ms(ConvBackend b, const std::function<void(ConvBackend)>& run) {
    const Stream s = current_stream();
    run(b);  // warm-up: algorithm search, workspace allocation, caches
    float t[3];
    for (float& v : t) {
        Event start, stop;
        start.record(s);
        run(b);
        stop.record(s);
        stop.synchronize();
        v = start.elapsed_ms(stop);
    }
    if (t[0] > t[1]) std::swap(t[0], t[1]);
    if (t[1] > t[2]) std::swap(t[1], t[2]);
    if (t[0] > t[1]) std::swap(t[0], t[1]);
    return t[1];
}

}  // namespace

const char* conv_backend_name(ConvBackend b) {
    switch (b) {
        case ConvBackend::Default:
            return "default";
        case ConvBackend::Native:
            return "native";
        case ConvBackend::Cudnn:
            return "cudnn";
        case ConvBackend::Auto:
            return "auto";
    }
    return "?";
}

ConvBackend parse_conv_backend(const std::string& s) {
    if (s == "native") return ConvBackend::Native;
    if (s == "cudnn") return ConvBackend::Cudnn;
    if (s == "auto") return ConvBackend::Auto;
    SEGCORE_THROW("unknown convolution backend '", s, "' (SEGCORE_CONV_BACKEND or a config): expected native, cudnn or auto");
}

void set_conv_backend(ConvBackend b) {
    SEGCORE_CHECK(b != ConvBackend::Default, "set_conv_backend: choose native, cudnn or auto");
    SEGCORE_CHECK(b == ConvBackend::Native || cudnn_compiled(), "set_conv_backend(", conv_backend_name(b),
                  "): this build has no cuDNN (install libcudnn9-dev-cuda-13 and reconfigure)");
    std::lock_guard<std::mutex> lock(state().mu);
    state().global = b;
}

ConvBackend conv_backend() {
    std::lock_guard<std::mutex> lock(state().mu);
    return state().global;
}

std::vector<ConvTuneRecord> conv_tune_records() {
    std::lock_guard<std::mutex> lock(state().mu);
    std::vector<ConvTuneRecord> out;
    for (const auto& [k, r] : state().cache) out.push_back(r);
    return out;
}

void clear_conv_tune_cache() {
    std::lock_guard<std::mutex> lock(state().mu);
    state().cache.clear();
}

ConvBackend resolve_conv_backend(ConvPass pass, const Conv2dParams& p, DType dtype, ConvBackend requested,
                                 const std::function<void(ConvBackend)>& run) {
    ConvBackend b = requested == ConvBackend::Default ? conv_backend() : requested;
    if (b == ConvBackend::Native) return b;
    SEGCORE_CHECK(cudnn_compiled(), "conv2d: the ", conv_backend_name(b),
                  " backend needs cuDNN, which this build does not have (install libcudnn9-dev-cuda-13 and reconfigure)");
    if (b == ConvBackend::Cudnn) return b;
    const std::string key = tune_key(pass, p, dtype);
    {
        std::lock_guard<std::mutex> lock(state().mu);
        auto it = state().cache.find(key);
        if (it != state().cache.end()) return it->second.chosen;
    }
    // Tune outside the lock: it launches work. Two threads may tune one key; both agree closely.
    ConvTuneRecord rec{key, ConvBackend::Native, time_ms(ConvBackend::Native, run), time_ms(ConvBackend::Cudnn, run)};
    rec.chosen = rec.cudnn_ms < rec.native_ms ? ConvBackend::Cudnn : ConvBackend::Native;
    std::fprintf(stderr, "segcore: conv autotune %s: native %.3f ms, cudnn %.3f ms -> %s\n", key.c_str(), rec.native_ms,
                 rec.cudnn_ms, conv_backend_name(rec.chosen));
    std::lock_guard<std::mutex> lock(state().mu);
    state().cache[key] = rec;
    return rec.chosen;
}

}  // namespace segcore::kernels
