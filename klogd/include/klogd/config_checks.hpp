#pragma once

#include <string>

namespace klogd {

// Checks of the files and directories the command line names, shared by the config and the
// output registry. Each throws usage_error with one line naming the option and the reason.

/// A file klogd will create or append to: its directory exists, it is not a directory.
void check_output_path(const std::string& option, const std::string& path);
/// A file klogd will read: readable, not a directory.
void check_readable(const std::string& option, const std::string& path);
/// A directory klogd will use: it is one, or its parent is one (it is created).
void check_directory_creatable(const std::string& option, const std::string& path);

}  // namespace klogd
