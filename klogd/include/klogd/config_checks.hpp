#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "klog/metrics/rule_set.hpp"
#include "klogd/config.hpp"

namespace klogd {

// Checks of the files and directories the command line names, shared by the config and the
// output registry. Each throws usage_error with one line naming the option and the reason.

/// A file klogd will create or append to: its directory exists, it is not a directory.
void check_output_path(const std::string& option, const std::string& path);
/// A file klogd will read: readable, not a directory.
void check_readable(const std::string& option, const std::string& path);
/// A directory klogd will use and create directories in: it is one, or its parent is one (it
/// is created); probed by creating (and removing) a directory.
void check_directory_creatable(const std::string& option, const std::string& path);

struct user_ids {
    uid_t uid;
    gid_t gid;
};
/// `--user`: the user exists.
std::optional<user_ids> check_user(const std::string& option, const std::string& name);

/// `--rules FILE` loaded (null without it); a file that does not load throws usage_error with
/// the file and line.
std::unique_ptr<klog::metrics::rule_set> load_rules(const config& c);

}  // namespace klogd
