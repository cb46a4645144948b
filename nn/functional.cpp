#include "nn/functional.h"

#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "core/error.h"
#include "kernels/elementwise/binary.h"

namespace segcore::nn::functional {

namespace F = segcore::autograd;

Variable linear(const Variable& x_in, const Variable& w_in, const Variable& b_in) {
    const auto in = F::autocast_inputs("linear", {x_in, w_in, b_in});
    const Variable &x = in[0], &w = in[1], &b = in[2];
    SEGCORE_CHECK(w.dim() == 2, "linear: the weight must be (out_features, in_features), got ", shape_str(w.shape()));
    SEGCORE_CHECK(x.dim() >= 1 && x.size(-1) == w.size(1), "linear: the input's last dim must be in_features = ",
                  w.size(1), ", got input ", shape_str(x.shape()));
    Variable y = F::matmul(x, F::transpose(w, 0, 1));
    if (b.defined()) y = F::add(y, b);
    return y;
}

Variable dropout(const Variable& x, double p, bool training, Generator* gen) {
    SEGCORE_CHECK(p >= 0.0 && p <= 1.0, "dropout: p must be in [0, 1], got ", p);
    if (!training || p == 0.0) return x;
    return F::dropout(x, p, gen);  // Philox mask kernel (kernels/dropout); p == 1 gives zeros
}

Variable dropout2d(const Variable& x, double p, bool training, Generator* gen) {
    SEGCORE_CHECK(p >= 0.0 && p <= 1.0, "dropout2d: p must be in [0, 1], got ", p);
    if (!training || p == 0.0) return x;
    return F::dropout2d(x, p, gen);
}

}  // namespace segcore::nn::functional
