#include "klogd/config_checks.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "klogd/options.hpp"

namespace klogd {

namespace {
[[noreturn]] void fail(const std::string& option, const std::string& reason) {
    throw usage_error(option + ": " + reason);
}
}  // namespace

void check_output_path(const std::string& option, const std::string& path) {
    if (path == "-") return;
    if (path.empty()) fail(option, "empty path");
    const std::filesystem::path p(path);
    const auto dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        fail(option + " " + path, "directory " + dir.string() + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) fail(option + " " + path, dir.string() + " is not a directory");
    if (::lstat(path.c_str(), &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            fail(option + " " + path, "is a symbolic link (klogd does not write through them)");
        }
        if (S_ISDIR(st.st_mode)) fail(option + " " + path, "is a directory");
    }
}

void check_readable(const std::string& option, const std::string& path) {
    if (::access(path.c_str(), R_OK) != 0) fail(option + " " + path, std::strerror(errno));
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "is a directory");
    }
}

void check_directory_creatable(const std::string& option, const std::string& path) {
    const std::filesystem::path dir(path);
    const auto parent = dir.has_parent_path() ? dir.parent_path() : std::filesystem::path(".");
    struct stat st {};
    const bool exists = ::stat(dir.c_str(), &st) == 0;
    if (exists ? !S_ISDIR(st.st_mode)
               : ::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "not a directory, nor one that can be created");
    }
    // Can klogd make its subdirectories there? Try it (and leave nothing behind): permission
    // bits alone do not say (/proc/sys is 0555 but root's mkdir still fails; read-only mounts).
    const auto probe =
        (exists ? dir : parent) / (".klogd-probe-" + std::to_string(static_cast<long>(::getpid())));
    if (::mkdir(probe.c_str(), 0700) != 0) {
        fail(option + " " + path,
             std::string("cannot create directories in ") + (exists ? dir : parent).string() +
                 ": " + std::strerror(errno));
    }
    ::rmdir(probe.c_str());
}

std::optional<user_ids> check_user(const std::string& option, const std::string& name) {
    errno = 0;
    const passwd* pw = ::getpwnam(name.c_str());
    if (pw == nullptr) {
        fail(option + " " + name, errno != 0 ? std::strerror(errno) : "no such user");
    }
    return user_ids{pw->pw_uid, pw->pw_gid};
}

}  // namespace klogd
