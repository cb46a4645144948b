#pragma once
// Upsample: torch.nn.Upsample on NCHW feature maps, a layer around autograd::interpolate
// (kernels/resize/interpolate.h has PyTorch 1.13's coordinate formulas, pinned by the golden
// fixture). Either an output size or scale factors; with scale factors the output is
// floor(in * s) and the coordinates use 1 / s, as PyTorch does when recompute_scale_factor is
// left unset (the module's default there too).
//
//   Upsample up(ops::InterpolateOptions::scale(2, 2, kernels::InterpMode::Bilinear));     // x2, align_corners=False
//   Upsample to(ops::InterpolateOptions::size(64, 64, kernels::InterpMode::Nearest));
//
// Note the mode: torch.nn.Upsample defaults to 'nearest', ops::InterpolateOptions to bilinear;
// spell the mode out.
#include "autograd/functions.h"
#include "nn/module.h"

namespace segcore::nn {

class Upsample : public Module {
public:
    explicit Upsample(const ops::InterpolateOptions& opt);
    Variable forward(const Variable& x) override;
    std::string extra_repr() const override;  // as PyTorch: "scale_factor=2.0, mode=bilinear"
    const ops::InterpolateOptions opt;
};

}  // namespace segcore::nn
