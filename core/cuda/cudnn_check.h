#pragma once
// cuDNN check macro (cuDNN is optional: include only where SEGCORE_WITH_CUDNN is defined).
#include <cudnn.h>

#include "core/error.h"

#define SEGCORE_CUDNN_CHECK(expr)                                                                          \
    do {                                                                                                   \
        const cudnnStatus_t segcore_st_ = (expr);                                                          \
        if (segcore_st_ != CUDNN_STATUS_SUCCESS) [[unlikely]]                                              \
            ::segcore::detail::throw_error(__FILE__, __LINE__,                                             \
                                           ::segcore::detail::concat("cuDNN error ", cudnnGetErrorString(segcore_st_), \
                                                                     " in ", #expr));                       \
    } while (0)
