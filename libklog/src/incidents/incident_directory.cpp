#include "klog/incidents/incident_directory.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <vector>

#include "klog/formatters/json_formatter.hpp"

namespace klog::incidents {

incident_directory::incident_directory(std::string dir, std::size_t max_files)
    : dir_(std::move(dir)), max_files_(std::max<std::size_t>(max_files, 1)) {}

std::string incident_directory::write(const incident& i, const std::string& boot_id,
                                      std::int64_t wall_usec) {
    const std::time_t secs = static_cast<std::time_t>(wall_usec / 1000000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    std::string name = std::string(stamp) + "-" + std::string(kind_name(i.kind)) + "-";
    // Unique within this run and across restarts (the pid and a counter).
    name += std::to_string(::getpid()) + "-" + std::to_string(++written_) + ".json";
    const std::string path = dir_ + "/" + name;

    std::string body = "{\"boot_id\":\"";
    formatters::json_formatter::append_string_contents(body, boot_id);
    body += "\",\"reported_usec\":" + std::to_string(wall_usec) + ",\"incident\":";
    i.append_json(body);
    body += "}\n";

    const std::string tmp = dir_ + "/." + name + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
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
    if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    if (err != 0) {
        ::unlink(tmp.c_str());
        throw std::system_error(err, std::generic_category(), "cannot write " + path);
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
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& p = it->path();
        if (p.extension() == ".json" && p.filename().string().front() != '.') files.push_back(p);
    }
    if (files.size() <= max_files_) return;
    std::sort(files.begin(), files.end());
    for (std::size_t n = 0; n + max_files_ < files.size(); ++n) std::filesystem::remove(files[n], ec);
}

}  // namespace klog::incidents
