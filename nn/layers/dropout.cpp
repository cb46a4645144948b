#include "nn/layers/dropout.h"

#include <sstream>

#include "core/error.h"
#include "nn/functional.h"

namespace segcore::nn {

Dropout2d::Dropout2d(double p, Generator* gen) : Module("Dropout2d"), p(p), gen_(gen) {
    SEGCORE_CHECK(p >= 0.0 && p <= 1.0, "Dropout2d: p must be in [0, 1], got ", p);
}

Variable Dropout2d::forward(const Variable& x) { return functional::dropout2d(x, p, is_training(), gen_); }

std::string Dropout2d::extra_repr() const {
    std::ostringstream os;
    os << "p=" << p;
    return os.str();
}

}  // namespace segcore::nn
