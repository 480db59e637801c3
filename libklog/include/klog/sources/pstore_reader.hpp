#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "klog/record_view.hpp"

namespace klog::sources {

/// The previous boot's kernel log as pstore kept it (`/sys/fs/pstore/dmesg-ramoops-N`,
/// `dmesg-efi-...`): each file holds a header line (`Panic#1 Part1`, `Oops#2 Part1`) and then
/// `<N>[secs.usecs] text` lines. The reader delivers them as records marked `pstore` and, once
/// the caller has them safe, moves each file into an archive directory (copy, then unlink: an
/// unlinked pstore file is erased from its backend), so that a restart does not send them again.
/// A file whose copy is in the archive already (same name and contents) is not delivered again.
class pstore_reader {
  public:
    struct dump {
        std::string name;    ///< `dmesg-ramoops-0`
        std::string path;    ///< where it is now
        std::string header;  ///< `Panic#1 Part1` (empty unless of that shape)
        std::string text;    ///< the lines after the header
        std::string archived_name;  ///< `dmesg-ramoops-0.<hash of contents>`
        /// A run before this one began delivering it and stopped before it was archived: the
        /// outputs may hold some of it already.
        bool again = false;
    };

    pstore_reader(std::string dir, std::string archive_dir);

    /// The dumps to deliver, oldest part first; `notes` gets one line per file not delivered
    /// (a compressed record; an unreadable, oversized or not regular file: no link is
    /// followed, no FIFO opened), `info` one per dump already archived (removed again).
    [[nodiscard]] std::vector<dump> scan(std::vector<std::string>& notes,
                                         std::vector<std::string>& info) const;
    /// Says (in the archive directory) that `d` is being delivered, so that a run that stops
    /// before `archive` leaves a trace of it for the next one (`dump::again`). Returns an empty
    /// string, or why not.
    [[nodiscard]] std::string begin(const dump& d) const;
    /// Calls `on_record(const record_view&)` for each line of `d` (marked `pstore`; lines that
    /// do not parse are delivered as malformed records).
    static void deliver(const dump& d, const std::function<void(const record_view&)>& on_record);
    /// Copies `d` into the archive (fsync'ed) and removes it from pstore. Returns an empty
    /// string, or why it could not.
    [[nodiscard]] std::string archive(const dump& d) const;

  private:
    std::string dir_;
    std::string archive_dir_;
};

}  // namespace klog::sources
