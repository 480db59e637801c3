#include "klogd/module_events.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "klog/os/os.hpp"

namespace klogd {

namespace {

std::uint64_t monotonic_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec) / 1000ULL;
}

/// In another network namespace than init's, the kernel sends no uevents to this socket.
bool other_network_namespace() {
    struct stat self {}, init {};
    if (klog::os::path_status("/proc/self/ns/net", self) ||
        klog::os::path_status("/proc/1/ns/net", init)) {
        return false;  // cannot tell
    }
    return self.st_ino != init.st_ino || self.st_dev != init.st_dev;
}

}  // namespace

module_events::module_events(boost::asio::io_context& io, handler on_event)
    : socket_(io), on_event_(std::move(on_event)) {
    std::error_code ec;
    auto fd = klog::os::socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT, ec);
    if (ec) {
        unavailable_ = "no uevent socket: " + ec.message();
        return;
    }
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = 1;  // the kernel's own uevents (udev's re-broadcast is group 2)
    if (const auto bound = klog::os::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr)) {
        unavailable_ = "cannot listen to uevents: " + bound.message();
        return;
    }
    const int size = 1 << 20;  // a burst of module loads while klogd is busy
    (void)klog::os::set_option(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    socket_.assign(fd.release());
    if (other_network_namespace()) {
        unavailable_ = "klogd runs in another network namespace than init, where the kernel "
                       "sends no uevents";
    }
    wait();
}

module_events::~module_events() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

std::optional<std::pair<module_events::action, std::string>> module_events::parse(
    std::string_view msg) {
    // "ACTION@DEVPATH\0ACTION=add\0DEVPATH=/module/NAME\0SUBSYSTEM=module\0SEQNUM=N\0"
    std::string_view act, devpath, subsystem;
    std::size_t at = msg.find('\0');
    if (at == std::string_view::npos) return std::nullopt;
    while (at < msg.size()) {
        const auto next = msg.find('\0', at + 1);
        const auto field = msg.substr(at + 1, (next == std::string_view::npos ? msg.size() : next) - at - 1);
        if (field.substr(0, 7) == "ACTION=") act = field.substr(7);
        if (field.substr(0, 8) == "DEVPATH=") devpath = field.substr(8);
        if (field.substr(0, 10) == "SUBSYSTEM=") subsystem = field.substr(10);
        if (next == std::string_view::npos) break;
        at = next;
    }
    if (subsystem != "module" || devpath.substr(0, 8) != "/module/") return std::nullopt;
    const auto name = devpath.substr(8);
    if (name.empty() || name.size() > 64 || name.find('/') != std::string_view::npos) {
        return std::nullopt;
    }
    if (act == "add") return std::make_pair(action::add, std::string(name));
    if (act == "remove") return std::make_pair(action::remove, std::string(name));
    return std::nullopt;
}

void module_events::poll() {
    if (!socket_.is_open()) return;
    std::array<char, 8192> buf;
    for (int n = 0; n < 1000; ++n) {
        sockaddr_nl from{};
        socklen_t from_len = sizeof from;
        std::error_code ec;
        const auto got = klog::os::receive_from(socket_.native_handle(), buf.data(), buf.size(),
                                                MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                                                &from_len, ec);
        // EAGAIN: nothing queued; ENOBUFS: events were lost (the fallback remains).
        if (ec) break;
        if (from.nl_pid != 0) continue;  // not the kernel
        if (auto ev = parse(std::string_view(buf.data(), got))) {
            on_event_(ev->first, ev->second, monotonic_usec());
        }
    }
    wait();
}

void module_events::wait() {
    if (waiting_ || !socket_.is_open()) return;
    waiting_ = true;
    socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                       [this](const boost::system::error_code& ec) {
                           waiting_ = false;
                           if (ec) return;
                           poll();
                       });
}

}  // namespace klogd
