// Differentiable views and casts (autograd/functions.h). A view's gradient is the gradient of its
// elements put back where they came from:
//   reshape/view/flatten/squeeze/unsqueeze   dx = g.reshape(x.shape)
//   permute(dims)                            dx = g.permute(inverse(dims))
//   transpose(a, b)                          dx = g.transpose(a, b)
//   narrow/slice/select                      dx = zeros(x.shape); dx[the view] = g
//   expand                                   dx = sum_to(g, x.shape)
//   contiguous                               dx = g
//   to(dtype) / to(device)                   dx = g.to(x's dtype / device)
// The forward results share storage with x, like the Tensor views they wrap.
#include <functional>

#include "autograd/function_util.h"
#include "autograd/functions.h"

namespace segcore::autograd {

namespace {

// Most views need only a shape (or a small lambda) to map the gradient back.
struct ViewBackward : Node {
    std::string op;
    std::function<Tensor(const Tensor&)> back;
    ViewBackward(std::string o, std::function<Tensor(const Tensor&)> b) : op(std::move(o)), back(std::move(b)) {}
    std::string name() const override { return op + "Backward"; }
    tensor_list apply(tensor_list&& grads) override { return {back(grads[0])}; }
};

Variable view_op(const Variable& x, Tensor y, const char* op, std::function<Tensor(const Tensor&)> back) {
    auto node = record<ViewBackward>({&x}, op, std::move(back));
    return make_output(std::move(y), node);
}

Tensor reshape_back(const Tensor& g, const Shape& shape) { return g.reshape(shape); }

// Scatter the gradient of a sub-view into zeros of the input's shape. `view_of` applies the same
// view to the zero tensor.
std::function<Tensor(const Tensor&)> embed_back(const Tensor& x, std::function<Tensor(const Tensor&)> view_of) {
    const Shape shape = x.shape();
    return [shape, view_of = std::move(view_of)](const Tensor& g) {
        Tensor dx = zeros(shape, {g.dtype(), g.device()});
        view_of(dx).copy_(g);
        return dx;
    };
}

}  // namespace

Variable reshape(const Variable& x, const Shape& shape) {
    const Shape in = x.shape();
    return view_op(x, x.data().reshape(shape), "Reshape", [in](const Tensor& g) { return reshape_back(g, in); });
}
Variable view(const Variable& x, const Shape& shape) {
    const Shape in = x.shape();
    return view_op(x, x.data().view(shape), "View", [in](const Tensor& g) { return reshape_back(g, in); });
}
Variable flatten(const Variable& x, int64_t start, int64_t end) {
    const Shape in = x.shape();
    return view_op(x, x.data().flatten(start, end), "Flatten", [in](const Tensor& g) { return reshape_back(g, in); });
}
Variable squeeze(const Variable& x) {
    const Shape in = x.shape();
    return view_op(x, x.data().squeeze(), "Squeeze", [in](const Tensor& g) { return reshape_back(g, in); });
}
Variable squeeze(const Variable& x, int64_t dim) {
    const Shape in = x.shape();
    return view_op(x, x.data().squeeze(dim), "Squeeze", [in](const Tensor& g) { return reshape_back(g, in); });
}
Variable unsqueeze(const Variable& x, int64_t dim) {
    const Shape in = x.shape();
    return view_op(x, x.data().unsqueeze(dim), "Unsqueeze", [in](const Tensor& g) { return reshape_back(g, in); });
}

Variable permute(const Variable& x, const std::vector<int64_t>& dims) {
    Tensor y = x.data().permute(dims);
    std::vector<int64_t> inverse(dims.size());
    for (size_t i = 0; i < dims.size(); ++i) inverse[size_t(wrap_dim(dims[i], x.dim(), "permute"))] = int64_t(i);
    return view_op(x, std::move(y), "Permute", [inverse](const Tensor& g) { return g.permute(inverse); });
}
Variable transpose(const Variable& x, int64_t a, int64_t b) {
    return view_op(x, x.data().transpose(a, b), "Transpose", [a, b](const Tensor& g) { return g.transpose(a, b); });
}

Variable narrow(const Variable& x, int64_t dim, int64_t start, int64_t length) {
    return view_op(x, x.data().narrow(dim, start, length), "Narrow",
                   embed_back(x.data(), [=](const Tensor& t) { return t.narrow(dim, start, length); }));
}
Variable slice(const Variable& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
    return view_op(x, x.data().slice(dim, start, end, step), "Slice",
                   embed_back(x.data(), [=](const Tensor& t) { return t.slice(dim, start, end, step); }));
}
Variable select(const Variable& x, int64_t dim, int64_t index) {
    return view_op(x, x.data().select(dim, index), "Select",
                   embed_back(x.data(), [=](const Tensor& t) { return t.select(dim, index); }));
}

Variable expand(const Variable& x, const Shape& shape) {
    const Shape in = x.shape();
    return view_op(x, x.data().expand(shape), "Expand", [in](const Tensor& g) { return sum_to(g, in); });
}

Variable contiguous(const Variable& x) {
    if (x.data().is_contiguous()) return x;
    return view_op(x, x.data().contiguous(), "Contiguous", [](const Tensor& g) { return g; });
}

Variable to(const Variable& x, DType dtype) {
    if (x.dtype() == dtype) return x;
    const DType from = x.dtype();
    return view_op(x, x.data().to(dtype), "ToDtype", [from](const Tensor& g) { return g.to(from); });
}
Variable to(const Variable& x, Device device) {
    if (x.device() == device) return x;
    const Device from = x.device();
    return view_op(x, x.data().to(device), "ToDevice", [from](const Tensor& g) { return g.to(from); });
}

}  // namespace segcore::autograd
