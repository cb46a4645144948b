#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "core/error.h"

namespace segcore::nn::init {

Fans calculate_fans(const Shape& s) {
    SEGCORE_CHECK(s.size() >= 2, "init: fan in/out need a weight with at least 2 dims, got ", shape_str(s));
    int64_t receptive = 1;
    for (size_t d = 2; d < s.size(); ++d) receptive *= s[d];
    return {s[1] * receptive, s[0] * receptive};
}

double calculate_gain(const std::string& nl, double a) {
    if (nl == "linear" || nl == "conv1d" || nl == "conv2d" || nl == "conv3d" || nl == "sigmoid") return 1.0;
    if (nl == "tanh") return 5.0 / 3.0;
    if (nl == "relu") return std::sqrt(2.0);
    if (nl == "leaky_relu") return std::sqrt(2.0 / (1.0 + a * a));
    if (nl == "selu") return 3.0 / 4.0;
    SEGCORE_THROW("init: unknown nonlinearity '", nl, "' (known: linear, conv2d, sigmoid, tanh, relu, leaky_relu, selu)");
}

namespace {
Tensor value_of(Variable& v, const char* fn) {
    SEGCORE_CHECK(v.defined(), "init::", fn, ": the variable is undefined");
    return v.data();
}
Generator* gen_or_default(Generator* g) { return g ? g : &default_generator(); }
}  // namespace

void constant_(Variable& v, double value) { value_of(v, "constant_").fill_(value); }
void zeros_(Variable& v) { constant_(v, 0.0); }
void ones_(Variable& v) { constant_(v, 1.0); }

void uniform_(Variable& v, double low, double high, Generator* gen) {
    Tensor t = value_of(v, "uniform_");
    segcore::uniform_(t, low, high, gen_or_default(gen));
}

void normal_(Variable& v, double mean, double stddev, Generator* gen) {
    Tensor t = value_of(v, "normal_");
    segcore::normal_(t, mean, stddev, gen_or_default(gen));
}

void trunc_normal_(Variable& v, double mean, double stddev, double a, double b, Generator* gen) {
    Tensor t = value_of(v, "trunc_normal_");
    SEGCORE_CHECK(a < b, "init::trunc_normal_: the bounds must satisfy a < b, got a = ", a, ", b = ", b);
    SEGCORE_CHECK(stddev > 0, "init::trunc_normal_: stddev must be positive, got ", stddev);
    // Rejection on the CPU in f64, then one copy to the tensor's device and dtype. The expected
    // number of rounds is small unless [a, b] holds little of the mass; refuse hopeless bounds.
    Generator* g = gen_or_default(gen);
    Tensor host = empty(t.shape(), {DType::F64});
    double* p = host.data<double>();
    const int64_t n = host.numel();
    std::vector<int64_t> todo(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) todo[size_t(i)] = i;
    for (int round = 0; !todo.empty(); ++round) {
        SEGCORE_CHECK(round < 1000, "init::trunc_normal_: [", a, ", ", b, "] holds almost none of N(", mean, ", ",
                      stddev, "); check the bounds (they are absolute values, not multiples of stddev)");
        const Tensor draws = randn({int64_t(todo.size())}, {DType::F64}, g);
        const double* d = draws.data<double>();
        std::vector<int64_t> again;
        for (size_t k = 0; k < todo.size(); ++k) {
            const double x = mean + stddev * d[k];
            if (x >= a && x <= b)
                p[todo[k]] = x;
            else
                again.push_back(todo[k]);
        }
        todo.swap(again);
    }
    t.copy_(host);
}

namespace {
double fan_for(const Variable& v, FanMode mode) {
    const Fans f = calculate_fans(v.shape());
    const int64_t fan = mode == FanMode::FanIn ? f.fan_in : f.fan_out;
    SEGCORE_CHECK(fan > 0, "init: the weight ", shape_str(v.shape()), " has a zero fan");
    return double(fan);
}
}  // namespace

void kaiming_uniform_(Variable& v, double a, FanMode mode, const std::string& nl, Generator* gen) {
    const double bound = calculate_gain(nl, a) * std::sqrt(3.0 / fan_for(v, mode));
    uniform_(v, -bound, bound, gen);
}

void kaiming_normal_(Variable& v, double a, FanMode mode, const std::string& nl, Generator* gen) {
    normal_(v, 0.0, calculate_gain(nl, a) / std::sqrt(fan_for(v, mode)), gen);
}

void xavier_uniform_(Variable& v, double gain, Generator* gen) {
    const Fans f = calculate_fans(v.shape());
    const double bound = gain * std::sqrt(6.0 / double(f.fan_in + f.fan_out));
    uniform_(v, -bound, bound, gen);
}

void xavier_normal_(Variable& v, double gain, Generator* gen) {
    const Fans f = calculate_fans(v.shape());
    normal_(v, 0.0, gain * std::sqrt(2.0 / double(f.fan_in + f.fan_out)), gen);
}

}  // namespace segcore::nn::init
