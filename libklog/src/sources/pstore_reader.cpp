#include "klog/sources/pstore_reader.hpp"

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
#include "klog/os/os.hpp"

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
    std::error_code ec;
    os::read_regular_file(path, out, max_file, ec);
    return !ec;
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
            std::error_code ignored;  // said again at the next start if it stays
            os::unlink(d.path, ignored);
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
    {
        const auto fd = os::open(marker, O_WRONLY | O_CREAT | O_NOFOLLOW, 0600, ec);
        if (ec) return os::failure(ec, "write", marker).what();
        (void)os::sync(fd.get());
    }
    os::sync_directory(archive_dir_, ec);
    // The marker may not survive a crash: the dump is then delivered again without saying so
    // (never lost).
    return {};
}

std::string pstore_reader::archive(const dump& d) const {
    std::error_code ec;
    std::filesystem::create_directories(archive_dir_, ec);
    if (ec) return "cannot make " + archive_dir_ + ": " + ec.message();
    std::string bytes;
    if (!read_file(d.path, bytes)) return "cannot read " + d.path + " again";
    const auto target = archive_dir_ + "/" + d.archived_name;
    os::replace_file(target, bytes, {.mode = 0600, .durable = os::durability::file_and_directory,
                                      .temporary = {}},
                     ec);
    if (ec) return os::failure(ec, "write", target).what();
    os::unlink(target + ".delivering", ec);
    os::unlink(d.path, ec);
    if (ec) {
        return "archived in " + target + " but " + os::failure(ec, "remove", d.path).what() +
               " (it is not delivered again)";
    }
    return {};
}

}  // namespace klog::sources
