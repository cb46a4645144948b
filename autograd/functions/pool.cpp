// Differentiable pooling (autograd/functions.h), kernels/pool/.
//   max_pool2d:          y = max over the window          dx = max_pool2d_backward(dy, idx)  (dy to the argmax)
//   max_unpool2d:        y[idx[i]] = x[i]                 dx[i] = dy[idx[i]]                  (a gather)
//   avg_pool2d:          y = sum over the window / D      dx = avg_pool2d_backward(dy)       (dy / D to each tap)
//   adaptive_avg_pool2d: y = mean over the bin            dx = adaptive_avg_pool2d_backward(dy)
// Saved: the indices (max pool, unpool) and the input shape; the pooled values never.
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/pool/avg_pool2d.h"
#include "kernels/pool/max_pool2d.h"

namespace segcore::autograd {

namespace {

struct MaxPool2dBackward : Node {
    ops::MaxPool2dOptions opt;
    Shape x_shape;
    Tensor indices;
    explicit MaxPool2dBackward(const ops::MaxPool2dOptions& o) : opt(o) {}
    std::string name() const override { return "MaxPool2dBackward"; }
    tensor_list apply(tensor_list&& grads) override {
        return {ops::max_pool2d_backward(grads[0], indices, x_shape, opt)};
    }
    void release_saved() override { indices = Tensor(); }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        if (!indices.defined()) return {};
        return {{"indices", indices}};
    }
};

struct MaxUnpool2dBackward : Node {
    Tensor indices;
    std::string name() const override { return "MaxUnpool2dBackward"; }
    tensor_list apply(tensor_list&& grads) override { return {ops::max_unpool2d_backward(grads[0], indices)}; }
    void release_saved() override { indices = Tensor(); }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        if (!indices.defined()) return {};
        return {{"indices", indices}};
    }
};

struct AvgPool2dBackward : Node {
    ops::AvgPool2dOptions opt;
    Shape x_shape;
    explicit AvgPool2dBackward(const ops::AvgPool2dOptions& o) : opt(o) {}
    std::string name() const override { return "AvgPool2dBackward"; }
    tensor_list apply(tensor_list&& grads) override { return {ops::avg_pool2d_backward(grads[0], x_shape, opt)}; }
};

struct AdaptiveAvgPool2dBackward : Node {
    Shape x_shape;
    std::string name() const override { return "AdaptiveAvgPool2dBackward"; }
    tensor_list apply(tensor_list&& grads) override { return {ops::adaptive_avg_pool2d_backward(grads[0], x_shape)}; }
};

}  // namespace

std::pair<Variable, Tensor> max_pool2d_with_indices(const Variable& x, const ops::MaxPool2dOptions& opt) {
    auto [y, idx] = ops::max_pool2d(x.data(), opt);
    auto node = record<MaxPool2dBackward>({&x}, opt);
    if (node) {
        node->x_shape = x.shape();
        node->indices = idx;
    }
    return {make_output(std::move(y), node), idx};
}

Variable max_pool2d(const Variable& x, const ops::MaxPool2dOptions& opt) {
    return max_pool2d_with_indices(x, opt).first;
}

Variable max_unpool2d(const Variable& x, const Tensor& indices, int64_t out_h, int64_t out_w) {
    Tensor y = ops::max_unpool2d(x.data(), indices, out_h, out_w);
    auto node = record<MaxUnpool2dBackward>({&x});
    if (node) node->indices = indices;
    return make_output(std::move(y), node);
}

Variable avg_pool2d(const Variable& x, const ops::AvgPool2dOptions& opt) {
    Tensor y = ops::avg_pool2d(x.data(), opt);
    auto node = record<AvgPool2dBackward>({&x}, opt);
    if (node) node->x_shape = x.shape();
    return make_output(std::move(y), node);
}

Variable adaptive_avg_pool2d(const Variable& x, int64_t out_h, int64_t out_w) {
    Tensor y = ops::adaptive_avg_pool2d(x.data(), out_h, out_w);
    auto node = record<AdaptiveAvgPool2dBackward>({&x});
    if (node) node->x_shape = x.shape();
    return make_output(std::move(y), node);
}

}  // namespace segcore::autograd
