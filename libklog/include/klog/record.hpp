#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "klog/record_view.hpp"

namespace klog {

/// An owning copy of a record, for queues and anything that outlives the read buffer.
class record {
  public:
    record() = default;
    explicit record(const record_view& view);

    /// A view of this record; valid while the record lives and is not modified.
    [[nodiscard]] record_view view() const noexcept;

    std::uint8_t level = 6;
    std::uint8_t facility = 0;
    std::optional<std::uint64_t> seq;
    std::optional<std::uint64_t> ts_usec;
    char flag = '-';
    std::string caller;
    std::string text;
    std::string dictionary;  ///< dictionary_view::block() form: KEY=VALUE entries joined by '\n'
    std::size_t dictionary_entries = 0;
    bool malformed = false;
    bool own = false;  ///< klogd's own record (record_view::own)
    bool pstore = false;  ///< the previous boot's, from pstore (record_view::pstore)
};

}  // namespace klog
