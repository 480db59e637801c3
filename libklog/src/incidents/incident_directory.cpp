#include "klog/incidents/incident_directory.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <vector>

#include "klog/formatters/json_formatter.hpp"
#include "klog/os/os.hpp"

namespace klog::incidents {

incident_directory::incident_directory(std::string dir, std::size_t max_files)
    : dir_(std::move(dir)), max_files_(std::max<std::size_t>(max_files, 1)) {}

namespace {

/// klogd's own file names: `YYYYmmddTHHMMSS.uuuuuuZ-NNNNNNNNNN-KIND.json`.
bool own_name(const std::string& n) {
    if (n.size() < 24 + 12 + 6 || n.compare(n.size() - 5, 5, ".json") != 0) return false;
    for (std::size_t i = 0; i < 8; ++i) {
        if (n[i] < '0' || n[i] > '9') return false;
    }
    return n[8] == 'T' && n[15] == '.' && n[22] == 'Z' && n[23] == '-' && n[34] == '-';
}

}  // namespace

std::string incident_directory::write(const incident& i, const std::string& boot_id,
                                      std::int64_t wall_usec) {
    const std::time_t secs = static_cast<std::time_t>(wall_usec / 1000000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char stamp[40];
    const auto len = std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    std::snprintf(stamp + len, sizeof stamp - len, ".%06lldZ",
                  static_cast<long long>(((wall_usec % 1000000) + 1000000) % 1000000));

    std::string body = "{\"boot_id\":\"";
    formatters::json_formatter::append_string_contents(body, boot_id);
    body += "\",\"reported_usec\":" + std::to_string(wall_usec) + ",\"incident\":";
    i.append_json(body);
    body += "}\n";

    // Written under a name of its own, then linked to its final name: link(2) never replaces a
    // file (another run's report of the same moment), rename(2) would.
    const std::string tmp = dir_ + "/.incident-" + std::to_string(::getpid()) + ".tmp";
    std::error_code ec;
    {
        const auto fd = os::open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0640, ec);
        if (ec) throw os::failure(ec, "create", tmp);
        os::write_all(fd.get(), body, ec);
        if (!ec) ec = os::sync(fd.get());
    }
    std::string path;
    for (int attempt = 0; !ec; ++attempt) {
        char counter[16];
        std::snprintf(counter, sizeof counter, "%010llu", static_cast<unsigned long long>(++written_));
        path = dir_ + "/" + stamp + "-" + counter + "-" + std::string(kind_name(i.kind)) + ".json";
        os::link(tmp, path, ec);
        if (ec == std::errc::file_exists && attempt < 1000) ec.clear();
        else break;
    }
    std::error_code ignored;
    os::unlink(tmp, ignored);
    if (ec) throw os::failure(ec, "write", path.empty() ? tmp : path);
    os::sync_directory(dir_, ignored);
    prune();
    return path;
}

void incident_directory::prune() {
    std::error_code ec;
    std::vector<std::string> files;
    for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (own_name(name)) files.push_back(std::move(name));  // never anybody else's files
    }
    if (files.size() <= max_files_) return;
    std::sort(files.begin(), files.end());  // time order: the names start with the time
    for (std::size_t n = 0; n + max_files_ < files.size(); ++n) {
        std::filesystem::remove(dir_ + "/" + files[n], ec);
    }
}

}  // namespace klog::incidents
