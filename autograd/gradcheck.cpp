#include "autograd/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "core/error.h"
#include "kernels/elementwise/binary.h"
#include "kernels/reduce/reduce.h"

namespace segcore::autograd {

namespace {

double dot(const Tensor& y, const Tensor& v) { return ops::sum(ops::mul(y, v)).item_double(); }

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opt,
                          const std::vector<size_t>& no_grad) {
    std::vector<Variable> vars;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& t = inputs[i];
        SEGCORE_CHECK(t.is_cpu(), "gradcheck: input ", i, " must be a CPU tensor, got ", t.meta_str());
        const bool floating = t.dtype() == DType::F64 || t.dtype() == DType::F32;
        SEGCORE_CHECK(!floating || t.dtype() == DType::F64, "gradcheck: floating input ", i,
                      " must be f64 (finite differences in f32 are too noisy), got ", t.meta_str());
        const bool wants = floating && std::find(no_grad.begin(), no_grad.end(), i) == no_grad.end();
        vars.emplace_back(t.clone(), wants);
    }
    GradcheckResult result;
    Generator gen(opt.seed);
    for (int proj = 0; proj < opt.projections; ++proj) {
        for (Variable& v : vars) v.zero_grad();
        const Variable y = f(vars);
        SEGCORE_CHECK(y.dtype() == DType::F64, "gradcheck: the function must return f64, got ", y.data().meta_str());
        const Tensor w = randn(y.shape(), {DType::F64}, &gen);
        y.backward(w);
        for (size_t i = 0; i < vars.size(); ++i) {
            if (!vars[i].requires_grad()) continue;
            Tensor x = vars[i].data();  // contiguous clone: perturb in place
            double* px = x.data<double>();
            const Tensor& g = vars[i].grad();
            for (int64_t k = 0; k < x.numel(); ++k) {
                const double orig = px[k];
                double plus, minus;
                {
                    NoGradGuard ng;
                    px[k] = orig + opt.eps;
                    plus = dot(f(vars).data(), w);
                    px[k] = orig - opt.eps;
                    minus = dot(f(vars).data(), w);
                    px[k] = orig;
                }
                const double numeric = (plus - minus) / (2 * opt.eps);
                const double analytic = g.defined() ? g.get_double(k) : 0.0;
                const double err = std::fabs(analytic - numeric);
                result.max_abs_error = std::max(result.max_abs_error, err);
                if (!(err <= opt.atol + opt.rtol * std::fabs(numeric))) {
                    result.ok = false;
                    std::ostringstream os;
                    os << "gradcheck: input " << i << " " << x.meta_str() << ", element " << k
                       << ": analytic " << analytic << " vs numeric " << numeric << " (|diff| " << err
                       << ", atol " << opt.atol << ", rtol " << opt.rtol << ")"
                       << (g.defined() ? "" : " [backward produced no gradient]");
                    result.message = os.str();
                    return result;
                }
            }
        }
    }
    return result;
}

}  // namespace segcore::autograd
