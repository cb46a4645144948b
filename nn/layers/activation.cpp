#include "nn/layers/activation.h"

#include <sstream>

#include "autograd/functions.h"

namespace segcore::nn {

namespace F = segcore::autograd;

Variable ReLU::forward(const Variable& x) { return F::relu(x); }
Variable ReLU6::forward(const Variable& x) { return F::relu6(x); }
Variable LeakyReLU::forward(const Variable& x) { return F::leaky_relu(x, negative_slope); }
Variable GELU::forward(const Variable& x) { return F::gelu(x, tanh_approximation); }
Variable Sigmoid::forward(const Variable& x) { return F::sigmoid(x); }
Variable Tanh::forward(const Variable& x) { return F::tanh(x); }
Variable Hardswish::forward(const Variable& x) { return F::hardswish(x); }

std::string LeakyReLU::extra_repr() const {
    std::ostringstream os;
    os << "negative_slope=" << negative_slope;
    return os.str();
}
std::string GELU::extra_repr() const { return tanh_approximation ? "approximate='tanh'" : "approximate='none'"; }

}  // namespace segcore::nn
