#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "klog/incidents/incident.hpp"

namespace klog::incidents {

/// `--incident-dir=DIR`: one JSON file per incident reported in full, written atomically
/// (temporary file, fsync, link to its name, fsync of the directory; never replacing a file),
/// named so that names sort by time: `YYYYmmddTHHMMSS.uuuuuuZ-NNNNNNNNNN-KIND.json`. Only the
/// newest `max_files` of these are kept; other files in the directory are left alone.
class incident_directory {
  public:
    static constexpr std::size_t default_max_files = 1000;

    explicit incident_directory(std::string dir, std::size_t max_files = default_max_files);

    /// Writes `i` (with the boot id and the wall-clock time of the report); returns the file's
    /// path, or throws std::system_error naming the file.
    std::string write(const incident& i, const std::string& boot_id, std::int64_t wall_usec);

  private:
    void prune();

    std::string dir_;
    std::size_t max_files_;
    std::uint64_t written_ = 0;
};

}  // namespace klog::incidents
