#pragma once
// The optimiser and learning-rate schedule a training config describes.
//
// Parameter groups: each parameter goes to the first optimizer.groups rule whose "match" regex is
// found in its dotted name (lr = lr_mult * optimizer.lr, weight_decay overridden when given); the
// rest form group 0 with the optimizer's own settings. Groups keep the config's order, so a
// checkpoint's optimizer state lines up with the same config. A rule that matches nothing is an
// error (a typo would otherwise silently train the backbone at the full rate).
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "nn/optim/lr_scheduler.h"
#include "nn/optim/optimizer.h"
#include "seg/train/train_config.h"

namespace segcore::seg {

std::unique_ptr<nn::Optimizer> make_optimizer(const OptimizerSection& cfg, const nn::Module& model);

// total_iters: optimizer steps of the whole run (poly and cosine decay over it).
std::unique_ptr<nn::LRScheduler> make_scheduler(const SchedulerSection& cfg, nn::Optimizer& opt, int64_t total_iters);

// "group 0: 120 tensors, lr 0.01, wd 0.0001; group 1 (^backbone\.): ..." for the run header.
std::string describe_groups(const nn::Optimizer& opt, const OptimizerSection& cfg);

}  // namespace segcore::seg
