#pragma once
// Shared checks for the model zoo tests: a model must be able to fit one small batch (the
// standard "can it learn at all" test: gradients reach every layer and have the right sign).
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "autograd/functions.h"
#include "kernels/ops.h"
#include "nn/optim/adam.h"
#include "seg/models/model.h"
#include "seg/models/registry.h"

namespace segcore::test {

// A 2-image batch of 4x4-pixel blocks, each block's class shown by its pixels (a class-dependent
// level on every channel plus noise): learnable by any convnet, so a model that cannot fit it
// has a broken layer, gradient or wiring.
struct TinyBatch {
    Tensor images, labels;
};

inline TinyBatch tiny_batch(int64_t in_channels, int64_t classes, int64_t h, int64_t w, uint32_t seed = 3) {
    Generator gen(seed);
    Tensor x = randn({2, in_channels, h, w}, {}, &gen);
    Tensor y = empty({2, h, w}, DType::I64);
    float* xs = x.data<float>();
    int64_t* ys = y.data<int64_t>();
    for (int64_t n = 0; n < 2; ++n)
        for (int64_t i = 0; i < h; ++i)
            for (int64_t j = 0; j < w; ++j) {
                const int64_t cls = ((i / 4) * 7 + (j / 4) * 3 + n) % classes;
                ys[(n * h + i) * w + j] = cls;
                for (int64_t c = 0; c < in_channels; ++c) {
                    float& v = xs[((n * in_channels + c) * h + i) * w + j];
                    v = 0.3f * v + 2.0f * float(cls) / float(classes) - 1.0f + ((cls + c) % 2 ? 0.5f : -0.5f);
                }
            }
    return {x, y};
}

// Adam on cross-entropy of forward_seg(images).out for `steps` steps; returns the final pixel
// accuracy on the same batch (eval mode off: batch-norm layers use batch statistics).
inline double overfit_pixel_accuracy(seg::SegModel& model, const TinyBatch& b, int steps, double lr = 3e-3) {
    nn::AdamOptions o;
    o.lr = lr;
    nn::Adam opt(model.parameters(), o);
    model.train();
    autograd::Variable x(b.images);
    for (int s = 0; s < steps; ++s) {
        opt.zero_grad();
        autograd::cross_entropy(model.forward_seg(x).out, b.labels).backward();
        opt.step();
    }
    const Tensor pred = ops::argmax(model.forward_seg(x).out.data(), 1);
    const int64_t* p = pred.to(DType::I64).data<int64_t>();
    const int64_t* y = b.labels.data<int64_t>();
    int64_t right = 0;
    for (int64_t i = 0; i < b.labels.numel(); ++i) right += p[i] == y[i];
    return double(right) / double(b.labels.numel());
}

// Builds model `name` through the registry (seg/models/registry.h) from `text`, a JSON object with
// the other keys; "num_classes" defaults to 21 when absent.
inline std::shared_ptr<seg::SegModel> build_registered(const std::string& name, const std::string& text) {
    nlohmann::json spec = nlohmann::json::parse(text);
    spec["name"] = name;
    if (!spec.contains("num_classes")) spec["num_classes"] = 21;
    return seg::build_model(spec);
}

// The error message build_registered throws, or "no error".
inline std::string build_error(const std::string& name, const std::string& text) {
    try {
        build_registered(name, text);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace segcore::test
