#include "klog/sources/pstore_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "klog/decoders/line_decoder.hpp"

namespace klog::sources {

namespace {

constexpr std::size_t max_file = 16U << 20;  // ramoops records are KiBs; efi parts 1 KiB

std::string hash_hex(std::string_view bytes) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
    for (const unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

/// A regular file only: no symbolic link is followed (pstore holds none; a link planted in a
/// --pstore directory could point at a secret), no FIFO or device blocks the daemon.
bool read_file(const std::string& path, std::string& out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return false;
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              static_cast<std::uint64_t>(st.st_size) <= max_file;
    out.clear();
    char buf[65536];
    while (ok) {
        const auto n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) ok = false;
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > max_file) ok = false;
    }
    ::close(fd);
    return ok;
}

/// The header line as it may be quoted: `Panic#1 Part1` (letters, digits, '#', spaces).
std::string safe_header(std::string_view h) {
    if (h.size() > 40) return {};
    for (const char c : h) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '#' || c == ' ')) {
            return {};
        }
    }
    return std::string(h);
}

/// `Panic#1 Part2` → (1, 2) for ordering; unknown: (0, 0).
std::pair<unsigned, unsigned> header_order(const std::string& header) {
    unsigned count = 0, part = 0;
    const auto hash = header.find('#');
    const auto p = header.find(" Part");
    if (hash != std::string::npos) count = static_cast<unsigned>(std::strtoul(header.c_str() + hash + 1, nullptr, 10));
    if (p != std::string::npos) part = static_cast<unsigned>(std::strtoul(header.c_str() + p + 5, nullptr, 10));
    return {count, part};
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

pstore_reader::pstore_reader(std::string dir, std::string archive_dir)
    : dir_(std::move(dir)), archive_dir_(std::move(archive_dir)) {}

std::vector<pstore_reader::dump> pstore_reader::scan(std::vector<std::string>& notes,
                                                    std::vector<std::string>& info) const {
    std::vector<dump> dumps;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir_, ec), end;
    if (ec) return dumps;  // no pstore (not mounted, no backend): nothing to say
    for (; it != end; it.increment(ec)) {
        if (ec) break;
        const auto name = it->path().filename().string();
        if (name.rfind("dmesg-", 0) != 0) continue;  // console-, pmsg-, ftrace-: not the log
        if (name.size() > 6 && name.find(".enc.z") != std::string::npos) {
            notes.push_back(dir_ + "/" + name + ": compressed pstore record (the kernel could not "
                            "decompress it): not read");
            continue;
        }
        dump d;
        d.name = name;
        d.path = it->path().string();
        std::string bytes;
        if (!read_file(d.path, bytes)) {
            notes.push_back(d.path + ": not a regular file, unreadable, or larger than 16 MiB: "
                            "not delivered");
            continue;
        }
        d.archived_name = name + "." + hash_hex(bytes);
        if (std::filesystem::exists(archive_dir_ + "/" + d.archived_name, ec)) {
            // Delivered and archived before; only its removal failed then.
            info.push_back(d.path + ": delivered before (in " + archive_dir_ + "), not again");
            ::unlink(d.path.c_str());
            continue;
        }
        d.again = std::filesystem::exists(archive_dir_ + "/" + d.archived_name + ".delivering", ec);
        const auto nl = bytes.find('\n');
        const std::string first = bytes.substr(0, nl);
        if (!first.empty() && first.front() != '<') {
            d.header = safe_header(first);
            d.text = nl == std::string::npos ? std::string() : bytes.substr(nl + 1);
        } else {
            d.text = std::move(bytes);
        }
        dumps.push_back(std::move(d));
    }
    // The oldest dump first; within one dump the highest part is the oldest text.
    std::sort(dumps.begin(), dumps.end(), [](const dump& a, const dump& b) {
        const auto oa = header_order(a.header), ob = header_order(b.header);
        if (oa.first != ob.first) return oa.first < ob.first;
        if (oa.second != ob.second) return oa.second > ob.second;
        return a.name < b.name;
    });
    return dumps;
}

void pstore_reader::deliver(const dump& d,
                            const std::function<void(const record_view&)>& on_record) {
    decoders::line_decoder decoder(decoders::line_decoder::prefix::required);
    const auto one = [&on_record](record_view r) {
        r.pstore = true;
        on_record(r);
    };
    decoder.feed(d.text, one);
    decoder.finish(one);
}

std::string pstore_reader::begin(const dump& d) const {
    std::error_code ec;
    std::filesystem::create_directories(archive_dir_, ec);
    if (ec) return "cannot make " + archive_dir_ + ": " + ec.message();
    const auto marker = archive_dir_ + "/" + d.archived_name + ".delivering";
    const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return "cannot write " + marker + ": " + std::strerror(errno);
    ::fsync(fd);
    ::close(fd);
    if (const int dfd = ::open(archive_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

std::string pstore_reader::archive(const dump& d) const {
    std::error_code ec;
    std::filesystem::create_directories(archive_dir_, ec);
    if (ec) return "cannot make " + archive_dir_ + ": " + ec.message();
    std::string bytes;
    if (!read_file(d.path, bytes)) return "cannot read " + d.path + " again";
    const auto target = archive_dir_ + "/" + d.archived_name;
    const auto tmp = target + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
    const bool ok = write_all(fd, bytes) && ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), target.c_str()) != 0) {
        const auto why = std::string(std::strerror(ok ? errno : saved));
        ::unlink(tmp.c_str());
        return "cannot write " + target + ": " + why;
    }
    if (const int dfd = ::open(archive_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    ::unlink((target + ".delivering").c_str());
    if (::unlink(d.path.c_str()) != 0 && errno != ENOENT) {
        return "archived in " + target + " but cannot remove " + d.path + ": " +
               std::strerror(errno) + " (it is not delivered again)";
    }
    return {};
}

}  // namespace klog::sources
