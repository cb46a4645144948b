#include "nn/layers/linear.h"

#include <cmath>

#include "core/error.h"
#include "nn/functional.h"
#include "nn/init.h"

namespace segcore::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias, TensorOptions opt)
    : Module("Linear"), in_features(in), out_features(out) {
    SEGCORE_CHECK(in > 0 && out > 0, "Linear: in_features and out_features must be positive, got ", in, " and ", out);
    weight = register_parameter("weight", empty({out, in}, opt));
    if (with_bias) bias = register_parameter("bias", empty({out}, opt));
    reset_parameters();
}

void Linear::reset_parameters(Generator* gen) {
    init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::FanIn, "leaky_relu", gen);
    if (bias.defined()) {
        const double bound = 1.0 / std::sqrt(double(in_features));
        init::uniform_(bias, -bound, bound, gen);
    }
}

Variable Linear::forward(const Variable& x) { return functional::linear(x, weight, bias); }

std::string Linear::extra_repr() const {
    return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
           ", bias=" + (bias.defined() ? "True" : "False");
}

}  // namespace segcore::nn
