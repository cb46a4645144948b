#pragma once
// NCCL check macro (NCCL is optional: include only where SEGCORE_WITH_NCCL is defined).
#include <nccl.h>

#include "core/error.h"

#define SEGCORE_NCCL_CHECK(expr)                                                                           \
    do {                                                                                                   \
        const ncclResult_t segcore_st_ = (expr);                                                           \
        if (segcore_st_ != ncclSuccess) [[unlikely]]                                                       \
            ::segcore::detail::throw_error(__FILE__, __LINE__,                                             \
                                           ::segcore::detail::concat("NCCL error ", ncclGetErrorString(segcore_st_), \
                                                                     " in ", #expr));                       \
    } while (0)
