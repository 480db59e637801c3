#include "klog/symbols/symbol_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

namespace klog::symbols {

namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

// A line as it may appear in a diagnostic: at most 60 bytes, control bytes as \xNN.
std::string printable(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    const std::size_t shown = text.size() > 60 ? 60 : text.size();
    for (std::size_t i = 0; i < shown; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (shown < text.size()) out += "...";
    return out;
}

class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

}  // namespace

std::string symbol_file::read_all(std::istream& in) {
    std::string data;
    char buffer[1 << 16];
    while (in) {
        in.read(buffer, sizeof buffer);
        data.append(buffer, static_cast<std::size_t>(in.gcount()));
    }
    return data;
}

std::string symbol_file::read_file(const std::filesystem::path& path) {
    const fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw std::system_error(errno, std::system_category(), "cannot open " + path.string());
    }
    std::string data;
    struct stat st {};
    // /proc files report size 0: then grow as we go.
    if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
        data.reserve(static_cast<std::size_t>(st.st_size) + 1);
    }
    std::size_t used = 0;
    for (;;) {
        if (data.size() - used < (1 << 16)) data.resize(used + (1 << 17));
        const ssize_t n = ::read(fd.get(), data.data() + used, data.size() - used);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::system_category(),
                                    "cannot read " + path.string());
        }
        if (n == 0) break;
        used += static_cast<std::size_t>(n);
    }
    data.resize(used);
    return data;
}

symbol_file::status symbol_file::parse_line(std::string_view text, line& out) noexcept {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    std::size_t i = 0;
    while (i < text.size() && is_space(text[i])) ++i;
    if (i == text.size()) return status::blank;

    // Address: 1..16 hex digits.
    const char* first = text.data() + i;
    const char* last = text.data() + text.size();
    std::uint64_t address = 0;
    const auto [ptr, ec] = std::from_chars(first, last, address, 16);
    if (ec != std::errc() || ptr == first || ptr - first > 16) return status::malformed;
    i = static_cast<std::size_t>(ptr - text.data());

    // One blank, one type letter, one blank.
    if (i >= text.size() || !is_space(text[i])) return status::malformed;
    while (i < text.size() && is_space(text[i])) ++i;
    if (i + 1 >= text.size() || !is_space(text[i + 1])) return status::malformed;
    const char type = text[i];
    const bool letter = (type >= 'A' && type <= 'Z') || (type >= 'a' && type <= 'z');
    if (!letter && type != '?' && type != '-') return status::malformed;
    i += 1;
    while (i < text.size() && is_space(text[i])) ++i;

    // Name: up to the next blank.
    const std::size_t name_start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i == name_start) return status::malformed;
    const std::string_view name = text.substr(name_start, i - name_start);

    // Optional `[module]`.
    while (i < text.size() && is_space(text[i])) ++i;
    std::string_view module;
    if (i < text.size()) {
        const std::size_t module_start = i;
        while (i < text.size() && !is_space(text[i])) ++i;
        const std::string_view column = text.substr(module_start, i - module_start);
        if (column.size() < 3 || column.front() != '[' || column.back() != ']') {
            return status::malformed;
        }
        module = column.substr(1, column.size() - 2);
        while (i < text.size() && is_space(text[i])) ++i;
        if (i != text.size()) return status::malformed;
    }

    out.address = address;
    out.type = type;
    out.name = name;
    out.module = module;
    return status::symbol;
}

std::size_t symbol_file::parse(std::string_view text, std::string_view source,
                               const std::function<void(const line&)>& on_symbol,
                               std::vector<std::string>& diagnostics) {
    std::size_t malformed = 0;
    std::size_t line_number = 0;
    line parsed;
    while (!text.empty()) {
        ++line_number;
        const std::size_t nl = text.find('\n');
        const std::string_view current = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        switch (parse_line(current, parsed)) {
            case status::symbol:
                on_symbol(parsed);
                break;
            case status::blank:
                break;
            case status::malformed:
                if (++malformed <= max_reported_lines) {
                    diagnostics.push_back(std::string(source) + ":" +
                                          std::to_string(line_number) +
                                          ": malformed symbol line: \"" + printable(current) +
                                          "\"");
                }
                break;
        }
    }
    if (malformed > max_reported_lines) {
        diagnostics.push_back(std::string(source) + ": " +
                              std::to_string(malformed - max_reported_lines) +
                              " more malformed lines not shown");
    }
    return malformed;
}

}  // namespace klog::symbols
