#pragma once

#include "klogd/config.hpp"

namespace klogd {

/// The environment check of `-k`, `--kallsyms` and `--modules` (klog::symbols::
/// symbol_file_check): a file that is not what the option says is refused at start (and by
/// `--check-config`) with usage_error, one line naming the option and the path, never quoting
/// the file. Belongs with make_config's other file checks; called from main until then.
void check_symbol_files(const config& cfg);

}  // namespace klogd
