#include "klogd/config_checks.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "klog/os/os.hpp"
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
    if (const auto ec = klog::os::path_status(dir.string(), st)) {
        fail(option + " " + path, "directory " + dir.string() + ": " + ec.message());
    }
    if (!S_ISDIR(st.st_mode)) fail(option + " " + path, dir.string() + " is not a directory");
    if (!klog::os::path_status(path, st, false)) {
        if (S_ISLNK(st.st_mode)) {
            fail(option + " " + path, "is a symbolic link (klogd does not write through them)");
        }
        if (S_ISDIR(st.st_mode)) fail(option + " " + path, "is a directory");
    }
}

void check_readable(const std::string& option, const std::string& path) {
    if (const auto ec = klog::os::accessible(path, R_OK)) fail(option + " " + path, ec.message());
    struct stat st {};
    if (!klog::os::path_status(path, st) && S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "is a directory");
    }
}

void check_directory_creatable(const std::string& option, const std::string& path) {
    const std::filesystem::path dir(path);
    const auto parent = dir.has_parent_path() ? dir.parent_path() : std::filesystem::path(".");
    struct stat st {};
    const bool exists = !klog::os::path_status(dir.string(), st);
    if (exists ? !S_ISDIR(st.st_mode)
               : klog::os::path_status(parent.string(), st) || !S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "not a directory, nor one that can be created");
    }
    // Can klogd make its subdirectories there? Try it (and leave nothing behind): permission
    // bits alone do not say (/proc/sys is 0555 but root's mkdir still fails; read-only mounts).
    const auto probe =
        (exists ? dir : parent) / (".klogd-probe-" + std::to_string(static_cast<long>(::getpid())));
    std::error_code ec;
    klog::os::create_new_directory(probe.string(), 0700, ec);
    if (ec) {
        fail(option + " " + path, "cannot create directories in " +
                                      (exists ? dir : parent).string() + ": " + ec.message());
    }
    klog::os::remove_directory(probe.string(), ec);
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
