#pragma once
// Every tensor-level op of kernels/, for code that wants them all (apps, tests, examples).
#include "kernels/conv/conv2d.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"
#include "kernels/elementwise/unary_backward.h"
#include "kernels/elementwise/where.h"
#include "kernels/linalg/matmul.h"
#include "kernels/optim/fused_optim.h"
#include "kernels/optim/grad_ops.h"
#include "kernels/reduce/reduce.h"
#include "kernels/shape/concat.h"
#include "kernels/shape/split.h"
#include "kernels/softmax/softmax.h"
