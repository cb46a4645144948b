#include "kernels/common/activation.h"

namespace segcore::kernels {

const char* act_name(Act a) {
    switch (a) {
        case Act::None:
            return "none";
        case Act::Relu:
            return "relu";
        case Act::Relu6:
            return "relu6";
    }
    return "none";
}

}  // namespace segcore::kernels
