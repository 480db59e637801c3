#include "klog/record.hpp"

namespace klog {

record::record(const record_view& view)
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

record_view record::view() const noexcept {
    record_view v;
    v.level = level;
    v.facility = facility;
    v.seq = seq;
    v.ts_usec = ts_usec;
    v.flag = flag;
    v.caller = caller;
    v.text = text;
    v.dictionary = dictionary_view(dictionary, dictionary_entries);
    v.malformed = malformed;
    v.own = own;
    v.pstore = pstore;
    return v;
}

}  // namespace klog
