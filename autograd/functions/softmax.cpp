// Differentiable softmax / log_softmax (autograd/functions.h); both save their output y.
//   softmax      dx = y * (g - sum(g * y, dim))
//   log_softmax  dx = g - exp(y) * sum(g, dim)
// (kernels/softmax/softmax.h computes both in one fused pass.)
#include "autograd/autocast.h"
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/softmax/softmax.h"

namespace segcore::autograd {

namespace {

struct SoftmaxBackward : Node {
    int64_t dim;
    bool log;
    Tensor y;
    SoftmaxBackward(int64_t d, bool l) : dim(d), log(l) {}
    std::string name() const override { return log ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
    tensor_list apply(tensor_list&& grads) override {
        return {log ? ops::log_softmax_backward(grads[0], y, dim) : ops::softmax_backward(grads[0], y, dim)};
    }
    void release_saved() override { y = Tensor(); }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override { return {{"result", y}}; }
};

Variable softmax_impl(const Variable& x_in, int64_t dim, bool log) {
    const Variable x = autocast_inputs(log ? "log_softmax" : "softmax", {x_in})[0];
    Tensor y = log ? ops::log_softmax(x.data(), dim) : ops::softmax(x.data(), dim);
    auto node = record<SoftmaxBackward>({&x}, dim, log);
    if (node) node->y = y;
    return make_output(std::move(y), node);
}

}  // namespace

Variable softmax(const Variable& x, int64_t dim) { return softmax_impl(x, dim, false); }
Variable log_softmax(const Variable& x, int64_t dim) { return softmax_impl(x, dim, true); }

}  // namespace segcore::autograd
