#include "klogd/config_checks.hpp"

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
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "is a directory");
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
    if (::stat(dir.c_str(), &st) == 0 ? !S_ISDIR(st.st_mode)
                                      : ::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        fail(option + " " + path, "not a directory, nor one that can be created");
    }
}

}  // namespace klogd
