#include "klog/sources/klogctl_fn.hpp"

#include <cerrno>

#include "klog/os/os.hpp"

namespace klog::sources {

klogctl_fn system_klogctl() {
    return [](int action, char* buffer, int length) {
        std::error_code ec;
        const int r = os::kernel_log(action, buffer, length, ec);
        if (ec) errno = ec.value();
        return r;
    };
}

}  // namespace klog::sources
