#include "tcp_acked.hpp"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

#include "klog/os/os.hpp"

namespace klog::sinks::detail {

std::optional<std::uint64_t> tcp_bytes_acked(int fd) noexcept {
    tcp_info info{};
    socklen_t len = sizeof info;
    if (os::get_option(fd, IPPROTO_TCP, TCP_INFO, &info, &len)) return std::nullopt;
    if (len < offsetof(tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked) {
        return std::nullopt;
    }
    return info.tcpi_bytes_acked;
}

}  // namespace klog::sinks::detail

#include <linux/sockios.h>
#include <sys/ioctl.h>

namespace klog::sinks::detail {

std::optional<std::uint64_t> tcp_outq(int fd) noexcept {
    int n = 0;
    if (os::io_control(fd, SIOCOUTQ, &n) || n < 0) return std::nullopt;
    return static_cast<std::uint64_t>(n);
}

}  // namespace klog::sinks::detail
