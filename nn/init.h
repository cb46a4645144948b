#pragma once
// Weight initialisation, as torch.nn.init: every function fills a parameter in place (no graph),
// draws from the Philox generator (the default one unless given), and so is reproducible for a
// seed on CPU and CUDA alike.
//
// fan_in / fan_out of a weight (out, in, kh, kw...) are in * receptive field and out * receptive
// field; gain is calculate_gain(nonlinearity, a).
#include <string>

#include "autograd/variable.h"
#include "core/tensor.h"

namespace segcore::nn::init {

using autograd::Variable;

enum class FanMode { FanIn, FanOut };

struct Fans {
    int64_t fan_in = 0, fan_out = 0;
};
Fans calculate_fans(const Shape& weight_shape);  // needs >= 2 dims
// "linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu" (a = slope), "selu".
double calculate_gain(const std::string& nonlinearity, double a = 0.0);

void constant_(Variable& v, double value);
void zeros_(Variable& v);
void ones_(Variable& v);
void uniform_(Variable& v, double low, double high, Generator* gen = nullptr);
void normal_(Variable& v, double mean, double stddev, Generator* gen = nullptr);
// Normal(mean, std) truncated to [a, b] (absolute bounds, like PyTorch): out-of-range draws are
// redrawn, so the distribution is exactly the truncated normal.
void trunc_normal_(Variable& v, double mean = 0.0, double stddev = 1.0, double a = -2.0, double b = 2.0,
                   Generator* gen = nullptr);
// U(-bound, bound), bound = gain * sqrt(3 / fan).
void kaiming_uniform_(Variable& v, double a = 0.0, FanMode mode = FanMode::FanIn,
                      const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
// N(0, std), std = gain / sqrt(fan).
void kaiming_normal_(Variable& v, double a = 0.0, FanMode mode = FanMode::FanIn,
                     const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
// U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).
void xavier_uniform_(Variable& v, double gain = 1.0, Generator* gen = nullptr);
// N(0, std), std = gain * sqrt(2 / (fan_in + fan_out)).
void xavier_normal_(Variable& v, double gain = 1.0, Generator* gen = nullptr);

}  // namespace segcore::nn::init
