#pragma once
// Grad mode: whether differentiable functions record a graph. Thread-local, like PyTorch's.
//   NoGradGuard        nothing recorded inside (evaluation, optimiser updates, weight init)
//   EnableGradGuard    recording back on inside a NoGradGuard
//   InferenceModeGuard no recording, and values created inside are marked as inference values
//                      that can never require gradients later (set_requires_grad refuses), so a
//                      tensor computed for serving cannot be mistaken for a trainable one.
namespace segcore::autograd {

bool grad_enabled();
void set_grad_enabled(bool enabled);
bool inference_mode();

class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool prev_;
};

class EnableGradGuard {
public:
    EnableGradGuard();
    ~EnableGradGuard();
    EnableGradGuard(const EnableGradGuard&) = delete;
    EnableGradGuard& operator=(const EnableGradGuard&) = delete;

private:
    bool prev_;
};

class InferenceModeGuard {
public:
    InferenceModeGuard();
    ~InferenceModeGuard();
    InferenceModeGuard(const InferenceModeGuard&) = delete;
    InferenceModeGuard& operator=(const InferenceModeGuard&) = delete;

private:
    bool prev_grad_, prev_inference_;
};

}  // namespace segcore::autograd
