#include "klog/symbols/symbol_file_check.hpp"

#include "klog/os/os.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "klog/symbols/module_list.hpp"
#include "klog/symbols/symbol_file.hpp"

namespace klog::symbols {

namespace {

std::string_view what(symbol_file_check::kind k) noexcept {
    switch (k) {
        case symbol_file_check::kind::system_map:
            return "a System.map";
        case symbol_file_check::kind::kallsyms:
            return "a kallsyms file";
        case symbol_file_check::kind::modules:
            return "a modules file";
    }
    return "a symbol file";
}

std::string_view expected_line(symbol_file_check::kind k) noexcept {
    return k == symbol_file_check::kind::modules ? "`NAME SIZE REFCOUNT USERS STATE ADDRESS`"
                                                 : "`ADDRESS TYPE NAME`";
}

}  // namespace

std::optional<std::string> symbol_file_check::problem_in(std::string_view head, kind k,
                                                         bool complete) {
    std::size_t lines = 0;
    std::size_t blank = 0;
    std::size_t valid = 0;
    while (!head.empty() && lines < lines_checked) {
        const std::size_t nl = head.find('\n');
        if (nl == std::string_view::npos && !complete) break;  // cut by bytes_checked
        const std::string_view line = head.substr(0, nl);
        head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
        ++lines;
        if (k == kind::modules) {
            if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
                ++blank;
            } else if (!module_list::parse(line, {}).empty()) {
                ++valid;
            }
            continue;
        }
        symbol_file::line parsed;
        switch (symbol_file::parse_line(line, parsed)) {
            case symbol_file::status::symbol:
                ++valid;
                break;
            case symbol_file::status::blank:
                ++blank;
                break;
            case symbol_file::status::malformed:
                break;
        }
    }
    if (valid != 0) return std::nullopt;
    if (lines == blank && complete) {
        if (k == kind::modules) return std::nullopt;  // no module loaded
        return "empty: not " + std::string(what(k));
    }
    if (lines == 0) {
        return "no complete line in its first " + std::to_string(bytes_checked / 1024) +
               " KiB: not " + std::string(what(k));
    }
    return "not " + std::string(what(k)) + " (no " + std::string(expected_line(k)) +
           " line among its first " + std::to_string(lines) + " lines)";
}

std::optional<std::string> symbol_file_check::problem(const std::filesystem::path& path, kind k) {
    std::error_code ec;
    const auto fd = os::open(path.string(), O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, ec);
    if (ec) return ec.message();
    struct stat st {};
    std::optional<std::string> result;
    if (const auto failed = os::status(fd.get(), st)) {
        result = failed.message();
    } else if (!S_ISREG(st.st_mode)) {
        result = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
    } else {
        // One byte more than judged: tells a file of exactly bytes_checked from a longer one.
        std::string head(bytes_checked + 1, '\0');
        const std::size_t used = os::read_full(fd.get(), head.data(), head.size(), ec);
        if (ec) result = ec.message();
        if (!result) {
            const bool complete = used <= bytes_checked;
            head.resize(complete ? used : bytes_checked);
            result = problem_in(head, k, complete);
        }
    }
    return result;
}

}  // namespace klog::symbols
