// Inputs and the composite baseline for the region-loss benchmarks (loss_region_bench.h).
#include "bench/common/loss_region_bench.h"

#include "kernels/ops.h"
#include "tests/test_util.h"

namespace segcore::bench {

RegionLossInputs make_region_loss_inputs(int64_t n, int64_t c, int64_t h, int64_t w, Device device) {
    RegionLossInputs in;
    const Tensor x = test::random_tensor({n, c, h, w}, DType::F32, -4, 4, 1);
    const Tensor u = test::random_tensor({n, h, w}, DType::F32, 0, 1, 2);
    Tensor l = empty({n, h, w}, {DType::I64});
    Tensor g = zeros({n, c, h, w}, {DType::F32});
    Tensor m = zeros({n, 1, h, w}, {DType::F32});
    const int64_t hw = h * w;
    for (int64_t i = 0; i < n * hw; ++i) {
        const float v = u.data<float>()[i];
        const int64_t lab = v < 0.05f ? 255 : std::min<int64_t>(c - 1, int64_t((v - 0.05f) / 0.95f * float(c)));
        l.data<int64_t>()[i] = lab;
        if (lab != 255) {
            const int64_t ni = i / hw, j = i % hw;
            g.data<float>()[(ni * c + lab) * hw + j] = 1.f;
            m.data<float>()[ni * hw + j] = 1.f;
        }
    }
    in.logits = x.to(device);
    in.labels = l.to(device);
    in.onehot = g.to(device);
    in.mask = m.to(device);
    return in;
}

autograd::Variable composite_dice(const autograd::Variable& logits, const RegionLossInputs& in) {
    namespace F = autograd;
    const F::Variable g(in.onehot), m(in.mask);
    const F::Variable p = F::mul(F::softmax(logits, 1), m);
    const F::Variable inter = F::sum(F::mul(p, g), {0, 2, 3});
    const F::Variable card = F::add(F::sum(p, {0, 2, 3}), F::sum(g, {0, 2, 3}));
    const F::Variable dice = F::div(F::add(F::mul(inter, 2.0), 1.0), F::add(card, 1.0));
    return F::rsub(F::mean(dice), 1.0);
}

double region_loss_bytes(const RegionLossInputs& in) {
    return 3.0 * double(in.logits.nbytes()) + 2.0 * double(in.labels.nbytes());
}

}  // namespace segcore::bench
