#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "klog/record_view.hpp"

namespace klog_test {

/// An owning copy of a record: what a test keeps after the source's buffer is reused.
class record {
  public:
    record() = default;
    explicit record(const klog::record_view& view);

    /// A view of this record; valid while the record lives and is not modified.
    [[nodiscard]] klog::record_view view() const noexcept;

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

inline record::record(const klog::record_view& view)
    : level(view.level),
      facility(view.facility),
      seq(view.seq),
      ts_usec(view.ts_usec),
      flag(view.flag),
      caller(view.caller),
      text(view.text),
      dictionary(view.dictionary.block()),
      dictionary_entries(view.dictionary.size()),
      malformed(view.malformed),
      own(view.own),
      pstore(view.pstore) {}

inline klog::record_view record::view() const noexcept {
    klog::record_view v;
    v.level = level;
    v.facility = facility;
    v.seq = seq;
    v.ts_usec = ts_usec;
    v.flag = flag;
    v.caller = caller;
    v.text = text;
    v.dictionary = klog::dictionary_view(dictionary, dictionary_entries);
    v.malformed = malformed;
    v.own = own;
    v.pstore = pstore;
    return v;
}

}  // namespace klog_test
