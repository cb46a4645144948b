// Differentiable resizing (autograd/functions.h), kernels/resize/interpolate.h.
//   y = interpolate(x)     dx = interpolate_backward(dy): each input pixel gathers w_row * w_col * dy
//                          from the output pixels that sample it (nearest: weight 1).
// Saves only the input shape and the options.
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/resize/interpolate.h"

namespace segcore::autograd {

namespace {

struct InterpolateBackward : Node {
    ops::InterpolateOptions opt;
    Shape x_shape;
    explicit InterpolateBackward(const ops::InterpolateOptions& o) : opt(o) {}
    std::string name() const override { return "InterpolateBackward"; }
    tensor_list apply(tensor_list&& grads) override { return {ops::interpolate_backward(grads[0], x_shape, opt)}; }
};

}  // namespace

Variable interpolate(const Variable& x, const ops::InterpolateOptions& opt) {
    Tensor y = ops::interpolate(x.data(), opt);
    auto node = record<InterpolateBackward>({&x}, opt);
    if (node) node->x_shape = x.shape();
    return make_output(std::move(y), node);
}

}  // namespace segcore::autograd
