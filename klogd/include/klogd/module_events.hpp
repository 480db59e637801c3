#pragma once

#include <utility>  // before Asio (DESIGN.md, Boost 1.74 notes)

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace klogd {

/// The kernel's module uevents (`add@/module/NAME` once it is loaded, since Linux 5.3 only after
/// its init returned; `remove@/module/NAME` when it goes) from a NETLINK_KOBJECT_UEVENT socket
/// on the daemon's io_context. Only messages the kernel itself sent (netlink port 0) with
/// SUBSYSTEM=module count. `poll()` handles what is queued without waiting: the daemon calls
/// it before reading the kernel log and before resolving a module address.
class module_events {
  public:
    enum class action { add, remove };
    /// NAME, and the CLOCK_MONOTONIC time (µs) the event was received.
    using handler = std::function<void(action, std::string_view name, std::uint64_t usec)>;

    /// Opens the socket; `unavailable` says why events will not come, if it knows (no socket,
    /// another network namespace, where the kernel sends none).
    module_events(boost::asio::io_context& io, handler on_event);
    ~module_events();
    module_events(const module_events&) = delete;
    module_events& operator=(const module_events&) = delete;

    [[nodiscard]] const std::optional<std::string>& unavailable() const noexcept {
        return unavailable_;
    }
    /// Handles every queued event; then waits for more in the background.
    void poll();
    /// Parses one uevent message; exposed for tests.
    [[nodiscard]] static std::optional<std::pair<action, std::string>> parse(std::string_view msg);

  private:
    void wait();

    boost::asio::posix::stream_descriptor socket_;
    handler on_event_;
    std::optional<std::string> unavailable_;
    bool waiting_ = false;
};

}  // namespace klogd
