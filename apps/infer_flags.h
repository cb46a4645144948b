#pragma once
// The inference flags `segcore eval` and `segcore predict` share; they override the model card's
// "inference" options (seg/inference/infer.h, apply_overrides).
#include <CLI/CLI.hpp>

#include "seg/inference/infer.h"

namespace segcore::apps {

inline void add_infer_flags(CLI::App* cmd, seg::InferOverrides& o) {
    cmd->add_option("--mode", o.mode, "whole | sliding (default: the model card's)");
    cmd->add_option("--crop", o.crop, "sliding window HxW, e.g. 512x1024 (implies --mode sliding)");
    cmd->add_option("--stride", o.stride, "sliding window step HxW (default: 2/3 of the crop)");
    cmd->add_flag("--flip", o.flip, "add horizontal-flip test-time augmentation");
    cmd->add_flag("--no-flip", o.no_flip, "no flip augmentation, even if the model card asks for it");
    cmd->add_option("--scales", o.scales, "multi-scale test-time augmentation, e.g. 0.75,1,1.25");
}

// Model files whose weights hold NaN or Inf are refused at load (naming the tensor); this flag
// loads them anyway, e.g. to look at what such a model predicts.
inline void add_allow_nonfinite_flag(CLI::App* cmd, bool& allow) {
    cmd->add_flag("--allow-nonfinite", allow, "load the model even if its weights hold NaN or Inf (refused otherwise)");
}

}  // namespace segcore::apps
