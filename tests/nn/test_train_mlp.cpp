// End to end on the CPU: a small MLP learns a non-linear 3-class problem (concentric rings) to at
// least 95% accuracy in a few hundred Adam steps. Exercises Linear, activations, autograd through
// log_softmax, the optimiser and zero_grad together; deterministic for the seed.
#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "kernels/ops.h"
#include "nn/layers.h"
#include "nn/optim/adam.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::nn;
namespace F = segcore::autograd;

namespace {

// Points in the plane, class = which of three rings (radius bands) they fall in.
void make_rings(int64_t n, uint64_t seed, Tensor& x, Tensor& onehot, Tensor& labels) {
    Generator g(seed);
    const Tensor u = rand({n, 2}, {DType::F64}, &g);
    x = empty({n, 2});
    onehot = zeros({n, 3});
    labels = empty({n}, {DType::I64});
    const double* pu = u.data<double>();
    for (int64_t i = 0; i < n; ++i) {
        const double r = 3.0 * std::sqrt(pu[2 * i]), th = 2 * M_PI * pu[2 * i + 1];
        const int64_t c = r < 1.0 ? 0 : (r < 2.0 ? 1 : 2);
        x.data<float>()[2 * i] = float(r * std::cos(th));
        x.data<float>()[2 * i + 1] = float(r * std::sin(th));
        onehot.data<float>()[3 * i + c] = 1.0f;
        labels.data<int64_t>()[i] = c;
    }
}

// Cross-entropy from the Foundation ops: -mean(sum(onehot * log_softmax(logits), 1)).
autograd::Variable onehot_cross_entropy(const autograd::Variable& logits, const Tensor& onehot) {
    return F::neg(F::mean(F::sum(F::mul(F::log_softmax(logits, 1), autograd::Variable(onehot)), {1})));
}

double accuracy(Module& m, const Tensor& x, const Tensor& labels) {
    autograd::NoGradGuard ng;
    const Tensor pred = ops::argmax(m(autograd::Variable(x)).data(), 1);
    return ops::sum(ops::eq(pred, labels).to(DType::F32)).item_double() / double(labels.numel());
}

}  // namespace

TEST_CASE("an MLP learns concentric rings to >= 95% accuracy", "[nn][train]") {
    manual_seed(3);
    Tensor x, onehot, labels, xv, onehot_v, labels_v;
    make_rings(2048, 11, x, onehot, labels);
    make_rings(1024, 12, xv, onehot_v, labels_v);
    Sequential net({std::make_shared<Linear>(2, 64), std::make_shared<ReLU>(), std::make_shared<Linear>(64, 64),
                    std::make_shared<ReLU>(), std::make_shared<Linear>(64, 3)});
    AdamOptions o;
    o.lr = 1e-2;
    Adam opt(net.parameters(), o);
    double first_loss = 0, last_loss = 0;
    const int64_t batch = 256;
    for (int step = 0; step < 400; ++step) {
        const int64_t start = (step * batch) % x.size(0);
        const autograd::Variable xb(x.narrow(0, start, batch));
        const autograd::Variable loss = onehot_cross_entropy(net(xb), onehot.narrow(0, start, batch));
        opt.zero_grad();
        loss.backward();
        opt.step();
        if (step == 0) first_loss = loss.item();
        last_loss = loss.item();
    }
    INFO("loss " << first_loss << " -> " << last_loss);
    REQUIRE(last_loss < 0.3 * first_loss);
    const double acc = accuracy(net, xv, labels_v);
    INFO("validation accuracy " << acc);
    REQUIRE(acc >= 0.95);
}
