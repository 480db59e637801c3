#include "klog/symbols/kaslr.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "klog/os/os.hpp"

#include <charconv>
#include <cstring>
#include <string>

namespace klog::symbols {

namespace {

// `0x<hex>` at the start of `s`; advances `s` past it.
std::optional<std::uint64_t> take_hex(std::string_view& s) noexcept {
    if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return std::nullopt;
    std::uint64_t value = 0;
    const char* first = s.data() + 2;
    const auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), value, 16);
    if (ec != std::errc() || ptr == first) return std::nullopt;
    s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
    return value;
}

}  // namespace

std::optional<std::uint64_t> kaslr_offset(const kallsyms& running, const system_map& map) noexcept {
    const auto runtime = running.text_address();
    const auto link = map.text_address();
    if (!runtime || !link) return std::nullopt;
    return *runtime - *link;
}

std::optional<kernel_offset> parse_kernel_offset(std::string_view line) noexcept {
    static constexpr std::string_view marker = "Kernel Offset: ";
    const std::size_t pos = line.find(marker);
    if (pos == std::string_view::npos) return std::nullopt;
    std::string_view rest = line.substr(pos + marker.size());
    if (rest.substr(0, 8) == "disabled") return kernel_offset{};
    kernel_offset result;
    const auto offset = take_hex(rest);
    if (!offset) return std::nullopt;
    result.offset = *offset;
    static constexpr std::string_view from = " from ";
    if (rest.substr(0, from.size()) == from) {
        rest.remove_prefix(from.size());
        result.link_base = take_hex(rest);
    }
    return result;
}

std::optional<kernel_offset> kernel_offset_in_log(const std::string& path, std::string& line) {
    std::error_code ec;
    const auto fd = os::open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, ec);
    struct stat st {};
    // A FIFO or standard input is read once, by the replay itself: not here.
    if (ec || os::status(fd.get(), st) || !S_ISREG(st.st_mode)) return std::nullopt;
    constexpr std::string_view marker = "Kernel Offset: ";
    std::string block(1 << 16, '\0');
    std::size_t kept = 0;  // the start of an unfinished line, carried to the next block
    for (;;) {
        const auto n = os::read(fd.get(), block.data() + kept, block.size() - kept, ec);
        if (ec) return std::nullopt;
        if (n == 0) {  // the last line, without its newline
            if (kept == 0) return std::nullopt;
            block[kept++] = '\n';
        }
        const std::string_view text(block.data(), kept + n);
        std::size_t at = 0;
        for (auto nl = text.find('\n'); nl != std::string_view::npos; nl = text.find('\n', at)) {
            const auto one = text.substr(at, nl - at);
            at = nl + 1;
            const auto m = one.find(marker);
            if (m == std::string_view::npos) continue;
            if (const auto off = parse_kernel_offset(one.substr(m))) {
                line = std::string(one.substr(m));
                return off;
            }
        }
        if (n == 0) return std::nullopt;
        // A line longer than a block is not the kernel's: dropped.
        kept = at == 0 && text.size() == block.size() ? 0 : text.size() - at;
        std::memmove(block.data(), text.data() + text.size() - kept, kept);
    }
}

}  // namespace klog::symbols
