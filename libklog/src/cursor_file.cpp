#include "klog/cursor_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace klog {

namespace {

std::string_view value_of(std::string_view text, std::string_view key) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto nl = text.find('\n', pos);
        const auto line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
        if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == '=') {
            return line.substr(key.size() + 1);
        }
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    return {};
}

}  // namespace

std::optional<cursor> cursor_file::load(std::string& error) const {
    error.clear();
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
        if (errno != ENOENT) error = path_ + ": " + std::generic_category().message(errno);
        return std::nullopt;
    }
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto boot = value_of(text, "boot_id");
    const auto seq_text = value_of(text, "seq");
    cursor c;
    const auto [end, ec] =
        std::from_chars(seq_text.data(), seq_text.data() + seq_text.size(), c.seq);
    if (boot.empty() || seq_text.empty() || ec != std::errc{} ||
        end != seq_text.data() + seq_text.size()) {
        error = path_ + ": not a klogd state file (ignored: the whole ring will be read)";
        return std::nullopt;
    }
    c.boot_id = boot;
    return c;
}

void cursor_file::save(const cursor& c) {
    if (last_saved_ == c) return;
    const std::filesystem::path path(path_);
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    const std::string tmp = path_ + ".tmp";
    const std::string text = "boot_id=" + c.boot_id + "\nseq=" + std::to_string(c.seq) + "\n";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), tmp);
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int err = errno;
    ::close(fd);
    if (!written) throw std::system_error(err, std::generic_category(), tmp);
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
        throw std::system_error(errno, std::generic_category(), path_);
    }
    last_saved_ = c;
}

std::string cursor_file::current_boot_id() {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return id;
}

}  // namespace klog
