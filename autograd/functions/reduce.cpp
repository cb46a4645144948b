// Differentiable reductions (autograd/functions.h).
//
// Formulas (g = gradient of the output, expanded back over the reduced dims; N = elements reduced):
//   sum        dx = g
//   mean       dx = g / N
//   max/min    dx = g * [x == y] / count(x == y)     (tied extrema share the gradient: amax)
//   var        dx = g * 2 (x - mean) / (N - correction)
//   std        dx = g * (x - mean) / ((N - correction) * std)
#include <algorithm>

#include "autograd/autocast.h"
#include "autograd/function_util.h"
#include "autograd/functions.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/where.h"
#include "kernels/reduce/reduce.h"

namespace segcore::autograd {

namespace {

// The reduced dims, wrapped and sorted; empty `dims` means all.
std::vector<int64_t> reduced_dims(const Shape& shape, const std::vector<int64_t>& dims) {
    std::vector<int64_t> out;
    const int64_t nd = int64_t(shape.size());
    if (dims.empty()) {
        for (int64_t d = 0; d < nd; ++d) out.push_back(d);
    } else {
        for (int64_t d : dims) out.push_back(nd == 0 ? 0 : wrap_dim(d, nd, "reduction"));
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    return out;
}

// Shape of the output with keepdim = true.
Shape kept_shape(const Shape& shape, const std::vector<int64_t>& rdims) {
    Shape s = shape;
    for (int64_t d : rdims)
        if (d < int64_t(s.size())) s[size_t(d)] = 1;
    return s;
}

int64_t reduced_count(const Shape& shape, const std::vector<int64_t>& rdims) {
    int64_t n = 1;
    for (int64_t d : rdims)
        if (d < int64_t(shape.size())) n *= shape[size_t(d)];
    return n;
}

// The output gradient as a keepdim-shaped tensor expanded to the input shape.
Tensor expand_back(const Tensor& g, const Shape& in_shape, const std::vector<int64_t>& rdims) {
    return g.reshape(kept_shape(in_shape, rdims)).expand(in_shape);
}

enum class Kind { Sum, Mean, Max, Min, Var, Std };

struct ReduceBackward : Node {
    Kind kind;
    Shape in_shape;
    std::vector<int64_t> rdims;
    int64_t correction = 1;
    Tensor x, y, mean;  // what the formula needs (max/min: x, y; var/std: x, mean, y = std)
    ReduceBackward(Kind k, Shape s, std::vector<int64_t> d) : kind(k), in_shape(std::move(s)), rdims(std::move(d)) {}
    std::string name() const override {
        static const char* names[] = {"SumBackward", "MeanBackward", "AmaxBackward",
                                      "AminBackward", "VarBackward", "StdBackward"};
        return names[int(kind)];
    }
    tensor_list apply(tensor_list&& grads) override {
        const Tensor ge = expand_back(grads[0], in_shape, rdims);
        const int64_t n = reduced_count(in_shape, rdims);
        switch (kind) {
            case Kind::Sum:
                return {ge};
            case Kind::Mean:
                return {ops::div(ge, double(n))};
            case Kind::Max:
            case Kind::Min: {
                const Tensor hit = ops::eq(x, expand_back(y, in_shape, rdims));
                const Tensor hitf = hit.to(x.dtype());
                const Tensor count = ops::sum(hitf, rdims, /*keepdim=*/true);
                return {ops::mul(ops::div(ge, count), hitf)};
            }
            case Kind::Var: {
                const Tensor centred = ops::sub(x, expand_back(mean, in_shape, rdims));
                return {ops::mul(ops::mul(ge, centred), 2.0 / double(n - correction))};
            }
            case Kind::Std: {
                const Tensor centred = ops::sub(x, expand_back(mean, in_shape, rdims));
                const Tensor denom = ops::mul(expand_back(y, in_shape, rdims), double(n - correction));
                return {ops::div(ops::mul(ge, centred), denom)};
            }
        }
        return {};
    }
    void release_saved() override {
        x = Tensor();
        y = Tensor();
        mean = Tensor();
    }
    std::vector<std::pair<std::string, Tensor>> saved_tensors() const override {
        std::vector<std::pair<std::string, Tensor>> s;
        if (x.defined()) s.emplace_back("self", x);
        if (y.defined()) s.emplace_back("result", y);
        if (mean.defined()) s.emplace_back("mean", mean);
        return s;
    }
};

Variable reduce(Kind kind, const char* ac_name, const Variable& x_in, const std::vector<int64_t>& dims, bool keepdim,
                int64_t correction = 1) {
    const Variable x = autocast_inputs(ac_name, {x_in})[0];
    const Tensor& xd = x.data();
    Tensor y, mean;
    switch (kind) {
        case Kind::Sum:
            y = ops::sum(xd, dims, keepdim);
            break;
        case Kind::Mean:
            y = ops::mean(xd, dims, keepdim);
            break;
        case Kind::Max:
            y = ops::max(xd, dims, keepdim);
            break;
        case Kind::Min:
            y = ops::min(xd, dims, keepdim);
            break;
        case Kind::Var:
            std::tie(y, mean) = ops::var_mean(xd, dims, correction, keepdim);
            break;
        case Kind::Std:
            std::tie(y, mean) = ops::std_mean(xd, dims, correction, keepdim);
            break;
    }
    auto node = record<ReduceBackward>({&x}, kind, xd.shape(), reduced_dims(xd.shape(), dims));
    if (node) {
        node->correction = correction;
        if (kind == Kind::Max || kind == Kind::Min) {
            node->x = xd;
            node->y = y;
        } else if (kind == Kind::Var || kind == Kind::Std) {
            node->x = xd;
            node->mean = mean;
            if (kind == Kind::Std) node->y = y;
        }
    }
    return make_output(std::move(y), node);
}

}  // namespace

Variable sum(const Variable& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce(Kind::Sum, "sum", x, dims, keepdim);
}
Variable mean(const Variable& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce(Kind::Mean, "mean", x, dims, keepdim);
}
Variable max(const Variable& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce(Kind::Max, "max", x, dims, keepdim);
}
Variable min(const Variable& x, const std::vector<int64_t>& dims, bool keepdim) {
    return reduce(Kind::Min, "min", x, dims, keepdim);
}
Variable var(const Variable& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
    return reduce(Kind::Var, "var", x, dims, keepdim, correction);
}
Variable std(const Variable& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
    return reduce(Kind::Std, "std", x, dims, keepdim, correction);
}

}  // namespace segcore::autograd
