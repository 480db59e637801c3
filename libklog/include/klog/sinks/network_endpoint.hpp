#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace klog::sinks {

/// A remote collector's address as `--output=udp://HOST[:PORT]` names it: a host name, an IPv4
/// literal or a bracketed IPv6 literal (`[::1]:6514`), and a port.
struct network_endpoint {
    std::string host;  ///< without brackets
    std::uint16_t port = 0;

    /// `HOST:PORT`, IPv6 literals in brackets.
    [[nodiscard]] std::string to_string() const;

    /// Parses `HOST[:PORT]` (the part after `scheme://`); `default_port` when no port is given.
    /// nullopt for an empty host, a bad port (0, above 65535, not digits), unbalanced brackets
    /// or anything after the host that is not `:PORT`.
    [[nodiscard]] static std::optional<network_endpoint> parse(std::string_view text,
                                                               std::uint16_t default_port);
};

}  // namespace klog::sinks
