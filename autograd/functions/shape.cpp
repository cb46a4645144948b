// Differentiable concat / stack / split / chunk (autograd/functions.h).
//   concat(xs, dim)  dx_i = g.narrow(dim, offset_i, size_i)
//   stack(xs, dim)   dx_i = g.select(dim, i)
//   split / chunk    one node, one output per piece; dx = concat(g_i, dim) with zeros for pieces
//                    no gradient reached
#include "autograd/autocast.h"
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/shape/concat.h"
#include "kernels/shape/split.h"

namespace segcore::autograd {

namespace {

struct ConcatBackward : Node {
    int64_t dim;
    std::vector<int64_t> sizes;
    bool stacked;
    ConcatBackward(int64_t d, std::vector<int64_t> s, bool st) : dim(d), sizes(std::move(s)), stacked(st) {}
    std::string name() const override { return stacked ? "StackBackward" : "ConcatBackward"; }
    tensor_list apply(tensor_list&& grads) override {
        tensor_list out(sizes.size());
        int64_t offset = 0;
        for (size_t i = 0; i < sizes.size(); ++i) {
            if (needs_input_grad(i))
                out[i] = stacked ? grads[0].select(dim, int64_t(i)) : grads[0].narrow(dim, offset, sizes[i]);
            offset += sizes[i];
        }
        return out;
    }
};

struct SplitBackward : Node {
    int64_t dim;
    Shape in_shape;
    SplitBackward(int64_t d, Shape s) : dim(d), in_shape(std::move(s)) {}
    std::string name() const override { return "SplitBackward"; }
    tensor_list apply(tensor_list&& grads) override {
        for (size_t i = 0; i < grads.size(); ++i)
            if (!grads[i].defined()) grads[i] = zeros(outputs[i].shape, {outputs[i].dtype, outputs[i].device});
        return {ops::concat(grads, dim)};
    }
};

std::vector<Variable> split_outputs(const Variable& x, std::vector<Tensor> pieces, int64_t dim) {
    auto node = record<SplitBackward>({&x}, wrap_dim(dim, x.dim(), "split"), x.shape());
    std::vector<Variable> out;
    out.reserve(pieces.size());
    for (size_t i = 0; i < pieces.size(); ++i) out.push_back(make_output(std::move(pieces[i]), node, uint32_t(i)));
    return out;
}

Variable concat_impl(const char* op, const std::vector<Variable>& xs_in, int64_t dim, bool stacked) {
    SEGCORE_CHECK(!xs_in.empty(), op, ": needs at least one tensor");
    const std::vector<Variable> xs = autocast_inputs(op, xs_in);
    std::vector<Tensor> ts;
    std::vector<int64_t> sizes;
    ts.reserve(xs.size());
    for (const Variable& v : xs) ts.push_back(v.data());
    Tensor y = stacked ? ops::stack(ts, dim) : ops::concat(ts, dim);
    const int64_t d = wrap_dim(dim, stacked ? xs[0].dim() + 1 : xs[0].dim(), op);
    for (const Variable& v : xs) sizes.push_back(stacked ? 1 : v.size(d));
    auto node = record<ConcatBackward>(xs, d, std::move(sizes), stacked);
    return make_output(std::move(y), node);
}

}  // namespace

Variable concat(const std::vector<Variable>& xs, int64_t dim) { return concat_impl("concat", xs, dim, false); }
Variable stack(const std::vector<Variable>& xs, int64_t dim) { return concat_impl("stack", xs, dim, true); }

std::vector<Variable> split(const Variable& x, int64_t split_size, int64_t dim) {
    return split_outputs(x, ops::split(x.data(), split_size, dim), dim);
}
std::vector<Variable> split(const Variable& x, const std::vector<int64_t>& sizes, int64_t dim) {
    return split_outputs(x, ops::split(x.data(), sizes, dim), dim);
}
std::vector<Variable> chunk(const Variable& x, int64_t chunks, int64_t dim) {
    return split_outputs(x, ops::chunk(x.data(), chunks, dim), dim);
}

}  // namespace segcore::autograd
