#pragma once
// Every layer of nn/, for code that wants them all.
#include "nn/functional.h"
#include "nn/init.h"
#include "nn/layers/activation.h"
#include "nn/layers/blocks.h"
#include "nn/layers/container.h"
#include "nn/layers/conv.h"
#include "nn/layers/dropout.h"
#include "nn/layers/linear.h"
#include "nn/layers/norm.h"
#include "nn/layers/pool.h"
#include "nn/layers/upsample.h"
#include "nn/module.h"
