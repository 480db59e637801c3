#include "klog/incidents/incident_directory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <vector>

#include "klog/formatters/json_formatter.hpp"

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
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create " + tmp);
    std::string_view rest = body;
    int err = 0;
    while (!rest.empty()) {
        const auto n = ::write(fd, rest.data(), rest.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            err = errno;
            break;
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (err == 0 && ::fsync(fd) != 0) err = errno;
    ::close(fd);
    std::string path;
    for (int attempt = 0; err == 0; ++attempt) {
        char counter[16];
        std::snprintf(counter, sizeof counter, "%010llu", static_cast<unsigned long long>(++written_));
        path = dir_ + "/" + stamp + "-" + counter + "-" + std::string(kind_name(i.kind)) + ".json";
        if (::link(tmp.c_str(), path.c_str()) == 0) break;
        if (errno != EEXIST || attempt >= 1000) err = errno;
    }
    ::unlink(tmp.c_str());
    if (err != 0) {
        throw std::system_error(err, std::generic_category(), "cannot write " + (path.empty() ? tmp : path));
    }
    if (const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
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
