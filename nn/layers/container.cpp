#include "nn/layers/container.h"

#include <sstream>

#include "core/error.h"
#include "nn/functional.h"

namespace segcore::nn {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> modules) : Module("Sequential") {
    for (auto& m : modules) push_back(std::move(m));
}

void Sequential::push_back(std::shared_ptr<Module> m) {
    register_module(std::to_string(layers_.size()), m);
    layers_.push_back(std::move(m));
}

Variable Sequential::forward(const Variable& x) {
    Variable y = x;
    for (auto& m : layers_) y = (*m)(y);  // operator(): observers see each layer
    return y;
}

ModuleList::ModuleList(std::vector<std::shared_ptr<Module>> modules) : Module("ModuleList") {
    for (auto& m : modules) push_back(std::move(m));
}

void ModuleList::push_back(std::shared_ptr<Module> m) {
    register_module(std::to_string(modules_.size()), m);
    modules_.push_back(std::move(m));
}

Dropout::Dropout(double p, Generator* gen) : Module("Dropout"), p(p), gen_(gen) {
    SEGCORE_CHECK(p >= 0.0 && p <= 1.0, "Dropout: p must be in [0, 1], got ", p);
}

Variable Dropout::forward(const Variable& x) { return functional::dropout(x, p, is_training(), gen_); }

std::string Dropout::extra_repr() const {
    std::ostringstream os;
    os << "p=" << p;
    return os.str();
}

}  // namespace segcore::nn
