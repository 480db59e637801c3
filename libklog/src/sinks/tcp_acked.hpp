#pragma once

#include <cstdint>
#include <optional>

namespace klog::sinks::detail {

/// Bytes of this connection the peer's TCP acknowledged (TCP_INFO `tcpi_bytes_acked`, Linux
/// 4.1+); nullopt if the kernel does not say. Kept apart from Asio, whose <netinet/tcp.h>
/// clashes with <linux/tcp.h>.
std::optional<std::uint64_t> tcp_bytes_acked(int fd) noexcept;

}  // namespace klog::sinks::detail

namespace klog::sinks::detail {

/// Bytes in the socket's send queue not yet acknowledged (SIOCOUTQ); nullopt on error.
std::optional<std::uint64_t> tcp_outq(int fd) noexcept;

}  // namespace klog::sinks::detail
