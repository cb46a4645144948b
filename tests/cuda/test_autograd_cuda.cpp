// Autograd on CUDA: the fused unary backward kernels against the CPU oracle (every op, every CUDA
// dtype, odd shapes and strided views), and a whole MLP forward + backward on the device against
// the same graph on the CPU.
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "kernels/elementwise/unary_backward.h"
#include "kernels/ops.h"
#include "nn/layers.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::kernels;
namespace F = segcore::autograd;

namespace {

std::vector<UnaryParams> all_unary() {
    return {{UnaryOp::Neg},       {UnaryOp::Abs},          {UnaryOp::Exp},        {UnaryOp::Log},
            {UnaryOp::Sqrt},      {UnaryOp::Rsqrt},        {UnaryOp::Sigmoid},    {UnaryOp::Tanh},
            {UnaryOp::Relu},      {UnaryOp::Relu6},        {UnaryOp::LeakyRelu, 0.1}, {UnaryOp::Hardswish},
            {UnaryOp::Gelu},      {UnaryOp::GeluTanh},     {UnaryOp::Clamp, -0.5, 0.7}, {UnaryOp::Pow, 3.0},
            {UnaryOp::Square},    {UnaryOp::AddScalar, 2}, {UnaryOp::MulScalar, -3}, {UnaryOp::DivScalar, 4},
            {UnaryOp::RSubScalar, 1}, {UnaryOp::RDivScalar, 2}};
}

bool positive_only(UnaryOp op) {
    return op == UnaryOp::Log || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::RDivScalar;
}

}  // namespace

TEST_CASE("unary_backward cuda matches the CPU for every op and dtype", "[cuda][autograd]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    for (const UnaryParams& p : all_unary()) {
        for (const Shape& shape : test::odd_shapes()) {
            INFO(unary_op_name(p.op) << " " << dtype_name(dt) << " " << shape_str(shape));
            const bool pos = positive_only(p.op);
            const Tensor s = test::random_tensor(shape, dt, pos ? 0.2 : -4, 4, 1);
            const Tensor dy = test::random_tensor(shape, dt, -1, 1, 2);
            const Tensor ref = ops::unary_backward(dy.to(DType::F32), s.to(DType::F32), p);
            const void* poisoned = test::poison_next_cuda_output(shape, dt);
            const Tensor dx = ops::unary_backward(dy.cuda(), s.cuda(), p);
            REQUIRE(dx.data_ptr() == poisoned);
            test::Tolerance tol = test::tolerance_for(dt);
            tol.atol *= 4;  // derivative formulas (x^2 for pow 3, 1/x^2) amplify rounding
            REQUIRE_CLOSE(dx, ref, tol);
        }
    }
}

TEST_CASE("unary_backward cuda on strided views", "[cuda][autograd]") {
    const Tensor s = test::random_tensor({6, 9, 5}, DType::F32, -3, 3, 3).permute({2, 0, 1});
    const Tensor dy = test::random_tensor({5, 6, 9}, DType::F32, -1, 1, 4);
    const UnaryParams p{UnaryOp::Gelu};
    REQUIRE_CLOSE(ops::unary_backward(dy.cuda(), s.cuda(), p), ops::unary_backward(dy, s, p),
                  test::tolerance_for(DType::F32));
}

TEST_CASE("an MLP's loss and gradients on CUDA match the CPU", "[cuda][autograd]") {
    manual_seed(5);
    nn::Sequential net({std::make_shared<nn::Linear>(7, 33), std::make_shared<nn::GELU>(),
                        std::make_shared<nn::Linear>(33, 5)});
    const Tensor x = test::random_tensor({19, 7}, DType::F32, -1, 1, 6);
    const auto run = [&](Device d) {
        net.to(d);
        net.zero_grad();
        const F::Variable logits = net(F::Variable(x.to(d)));
        const F::Variable loss = F::neg(F::mean(F::max(F::log_softmax(logits, 1), {1})));
        loss.backward();
        std::vector<Tensor> out{loss.data().cpu()};
        for (auto& p : net.parameters()) out.push_back(p.grad().cpu());
        return out;
    };
    const auto cpu = run(Device::cpu());
    const auto gpu = run(Device::cuda());
    REQUIRE(cpu.size() == gpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
        INFO("tensor " << i);
        REQUIRE_CLOSE(gpu[i], cpu[i], (test::Tolerance{1e-5, 1e-4}));
    }
}
