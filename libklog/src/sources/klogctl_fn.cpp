#include "klog/sources/klogctl_fn.hpp"

#include <sys/klog.h>

namespace klog::sources {

klogctl_fn system_klogctl() {
    return [](int action, char* buffer, int length) { return ::klogctl(action, buffer, length); };
}

}  // namespace klog::sources
