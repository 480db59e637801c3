#include "klog/sinks/network_endpoint.hpp"

#include <charconv>

namespace klog::sinks {

std::string network_endpoint::to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<network_endpoint> network_endpoint::parse(std::string_view text,
                                                        std::uint16_t default_port) {
    network_endpoint ep;
    std::string_view rest;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        ep.host = std::string(text.substr(1, close - 1));
        if (ep.host.find(':') == std::string::npos) return std::nullopt;
        rest = text.substr(close + 1);
    } else {
        const auto colon = text.find(':');
        if (colon != std::string_view::npos &&
            text.find(':', colon + 1) != std::string_view::npos) {
            return std::nullopt;  // an IPv6 literal needs brackets: [::1]:514
        }
        ep.host = std::string(text.substr(0, colon));
        if (colon != std::string_view::npos) rest = text.substr(colon);
    }
    if (ep.host.empty() || ep.host.find_first_of("/[]@ ") != std::string::npos) return std::nullopt;
    if (rest.empty()) {
        ep.port = default_port;
        return ep;
    }
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
    rest.remove_prefix(1);
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
    if (ec != std::errc{} || end != rest.data() + rest.size() || port == 0 || port > 65535) {
        return std::nullopt;
    }
    ep.port = static_cast<std::uint16_t>(port);
    return ep;
}

}  // namespace klog::sinks
