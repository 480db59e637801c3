#include "klog/sinks/sink.hpp"

#include <chrono>
#include <cstdint>

namespace klog::sinks {

sink::sink(std::string name, std::unique_ptr<formatters::formatter> format, when_full mode)
    : name_(std::move(name)), format_(std::move(format)), mode_(mode) {}

void sink::take(const record_view& record, const formatters::record_time& time,
                const record_meta& meta) {
    if (meta.seq) {
        latest_.emplace(*meta.seq);  // not a whole copy: see copy_fields
        if (!first_seq_) first_seq_.emplace(*meta.seq);
    }
    if (mode_ == when_full::drop && full()) {
        // One record (its -2 twin shares the position) counted once into the gap.
        if (last_dropped_pos_ != meta.pos) {
            last_dropped_pos_ = meta.pos;
            gap_.add(meta.seq);
            ++counters_.dropped;
        }
        return;
    }
    place_gap(meta);
    if (std::string* buffer = append_buffer()) {
        const std::size_t start = buffer->size();
        try {
            format_->format(record, time, *buffer);
        } catch (...) {
            buffer->resize(start);  // nothing of a record half made
            throw;
        }
        ++counters_.taken;
        put_appended(meta);
        return;
    }
    scratch_.clear();
    format_->format(record, time, scratch_);
    ++counters_.taken;
    put(scratch_, meta);
}

void sink::pass(const record_meta& meta) {
    if (meta.seq) {
        latest_.emplace(*meta.seq);  // not a whole copy: see copy_fields
        if (!first_seq_) first_seq_.emplace(*meta.seq);
    }
    // A gap before a record this output does not get is still said here, at its place.
    if (!(mode_ == when_full::drop && full())) place_gap(meta);
}

void sink::place_gap(const record_meta& meta) {
    if (!gap_.pending()) return;
    const auto text = gap_.notice();
    gap_.clear();
    const auto notice = own_notice(text);
    scratch_.clear();
    format_->format(notice, formatters::record_time{wall_now(), false}, scratch_);
    record_meta m = meta;
    m.level = notice.level;
    ++counters_.taken;
    put(scratch_, m);
}

std::int64_t sink::wall_now() noexcept {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string sink::format_notice(std::string_view text) const {
    std::string out;
    format_->format(own_notice(text), formatters::record_time{wall_now(), false}, out);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

void sink::say(std::string_view text) {
    const auto notice = own_notice(text);
    std::string bytes;
    format_->format(notice, formatters::record_time{wall_now(), false}, bytes);
    record_meta meta;
    meta.pos = UINT64_MAX;
    meta.before = latest_;
    meta.level = notice.level;
    ++counters_.taken;
    put(bytes, meta);
}

void sink::finish() {
    finishing();
    if (!gap_.pending()) return;
    record_meta meta;
    meta.pos = UINT64_MAX;
    if (const auto first = gap_.first(); first && *first > 0) meta.before = *first - 1;
    place_gap(meta);
}

std::optional<std::uint64_t> sink::durable_seq() const noexcept {
    if (cut_pending()) return pending_cut_seq();  // the saved state stays as it was
    std::optional<std::uint64_t> at = latest_;
    if (const auto first = first_unsafe()) at = first->before;
    // Nothing before the first kernel record of a run without a cursor is owed to this output
    // (klogd's own notice taken before it has no seq to stand on).
    if (!at && first_seq_ && *first_seq_ > 0) at = *first_seq_ - 1;
    // Records dropped and not yet said are not delivered: after a restart they are read again.
    if (const auto lost = gap_.first(); gap_.pending() && lost) {
        const std::optional<std::uint64_t> before =
            *lost > 0 ? std::optional<std::uint64_t>(*lost - 1) : std::nullopt;
        if (!before || !at || *before < *at) at = before;
    }
    return at;
}

std::string sink::counters_line() const {
    const auto& c = counters_;
    std::string line = name_ + ": " + std::to_string(c.written) + " written, " +
                       std::to_string(queued()) + " queued";
    if (c.spooled != 0) line += ", " + std::to_string(c.spooled) + " spooled";
    line += ", " + std::to_string(c.dropped) + " dropped";
    if (c.resent != 0) line += ", " + std::to_string(c.resent) + " resent";
    if (c.refused != 0) line += ", " + std::to_string(c.refused) + " refused";
    if (c.broken != 0) line += ", " + std::to_string(c.broken) + " broken answers";
    if (const auto h = held(); !h.empty()) line += ", " + h;
    return line;
}

}  // namespace klog::sinks
