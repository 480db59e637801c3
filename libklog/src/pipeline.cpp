#include "klog/pipeline.hpp"

#include <algorithm>
#include <exception>
#include <string>

namespace klog {

pipeline::pipeline(std::vector<std::unique_ptr<sinks::sink>> outputs)
    : outputs_(std::move(outputs)),
      last_taken_(outputs_.size(), 0),
      last_meta_(outputs_.size()),
      output_errors_(outputs_.size()) {}

void pipeline::resume(std::size_t index, std::optional<std::uint64_t> seq) {
    outputs_.at(index)->resume_after(seq);
    // The read stream starts at the oldest of them.
    read_last_.reset();
    bool all = true;
    for (const auto& o : outputs_) {
        const auto l = o->latest_seq();
        if (!l) {
            all = false;
            break;
        }
        read_last_ = read_last_ ? std::min(*read_last_, *l) : *l;
    }
    if (!all) read_last_.reset();
}

void pipeline::new_session() noexcept {
    session_last_.reset();
    said_leap_at_.reset();
    unnumbered_ = 0;
    std::fill(last_taken_.begin(), last_taken_.end(), 0);
}

std::vector<std::size_t> pipeline::ahead_of_kernel() const {
    std::vector<std::size_t> ahead;
    if (!session_last_) return ahead;  // nothing read: nothing to compare with
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
        const auto l = outputs_[i]->latest_seq();
        if (l && *l > *session_last_) ahead.push_back(i);
    }
    return ahead;
}

void pipeline::on_record(const record_view& record) {
    // Optionals stored a moment before (the record's, the outputs' latest, session_last_) are
    // read a field at a time, never copied whole: a 16-byte load of a flag and a number stored
    // apart cannot be forwarded from the stores and stalled the pipeline for every record (the
    // largest part of this function's time in perf).
    std::optional<std::uint64_t> seq;
    if (record.seq.has_value()) seq.emplace(*record.seq);
    bool unnumbered = !seq && record.malformed;
    if (seq) {
        // The sequence numbers of one reading of /dev/kmsg only go up, one at a time unless the
        // ring lost records. Anything else is said once and never a reason to go silent.
        if (session_last_ && *seq == *session_last_) {
            ++counters_.duplicates;  // the same record twice in a row
            return;
        }
        if (session_last_ && *seq < *session_last_) {
            // Back: the numbering started again (several boots in one replayed log, a stand-in
            // that restarted). Every output takes the new numbering from here.
            notice("klogd: kernel sequence numbers went back from " +
                   std::to_string(*session_last_) + " to " + std::to_string(*seq) +
                   ": a new numbering, delivered from here");
            for (auto& out : outputs_) {
                out->resume_after(*seq > 0 ? std::optional<std::uint64_t>(*seq - 1) : std::nullopt);
            }
            read_last_.reset();
            ++counters_.renumbered;
        } else {
            const auto& reference = session_last_ ? session_last_ : read_last_;
            if (reference && *seq > *reference && *seq - *reference > implausible_jump) {
                // Far more records than any kernel prints: not a count of lost records. The
                // record is delivered as one without a number: it moves no cursor, makes no
                // gap, and goes with the record before it.
                if (!said_leap_at_ || *said_leap_at_ != *reference) {
                    notice("klogd: kernel sequence number jumped from " +
                           std::to_string(*reference) + " to " + std::to_string(*seq) +
                           ": not a count of lost records; delivered as it is");
                    said_leap_at_.emplace(*reference);
                }
                ++counters_.renumbered;
                seq.reset();
                unnumbered = true;
            }
        }
    }
    if (seq) {
        const bool wanted = std::any_of(outputs_.begin(), outputs_.end(), [&](const auto& o) {
            const auto& l = o->latest_seq();
            return !l.has_value() || *seq > *l;
        });
        // Each std::optional set through emplace/reset (here and below): a copy of a whole one
        // built a moment before went through the stack in two stores and one wide load, which
        // cannot be forwarded (a stall of the whole pipeline per record, seen in perf).
        session_last_.emplace(*seq);
        if (!wanted) {
            if (incidents_ != nullptr) incidents_->feed(record, true);
            ++counters_.duplicates;
            std::fill(last_taken_.begin(), last_taken_.end(), 0);
            unnumbered_ = 0;
            return;
        }
        if (read_last_ && *seq > *read_last_ + 1) {
            const auto gap = *seq - *read_last_ - 1;
            counters_.missed += gap > unnumbered_ ? gap - unnumbered_ : 0;
        }
        if (!read_last_ || *seq > *read_last_) read_last_.emplace(*seq);
    } else if (unnumbered && session_last_) {
        // A record of a numbered reading whose header did not parse (or whose number cannot
        // be): it belongs with the record before it (the same delivery position, skipped where
        // that one was), so a restart neither repeats nor loses it.
        if (record.malformed) ++counters_.malformed;
        count_delivered(record);
        if (!record.seq) ++unnumbered_;
        const auto time = clock_.time_for(record.ts_usec, estimated_);
        for (std::size_t i = 0; i < outputs_.size(); ++i) {
            if (last_taken_[i]) outputs_[i]->take(record, time, last_meta_[i]);
        }
        if (incidents_ != nullptr) incidents_->feed(record);
        return;
    }
    if (record.malformed) ++counters_.malformed;
    const bool filtered = record.level > min_level_;
    if (filtered) {
        ++counters_.filtered;
    } else {
        count_delivered(record);
    }
    const bool rewritten =
        !filtered && rewriter_ != nullptr && rewriter_->rewrite(record, rewritten_);
    // The rewritten record, a member: a record_view is not small, and most records are not
    // rewritten (a local one would be built and zeroed for every record).
    if (rewritten) {
        changed_ = record;
        changed_.text = rewritten_;
        changed_.single_line = false;  // the rewriter's text: not scanned
    }
    // The previous boot's kernel time says nothing about this boot's clock.
    const auto time = record.pstore ? clock_.time_for(std::nullopt, true)
                                    : clock_.time_for(record.ts_usec, estimated_);
    const std::uint64_t pos = ++position_;
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
        auto& out = outputs_[i];
        const bool has_last = out->latest_seq().has_value();
        const std::uint64_t last = has_last ? *out->latest_seq() : 0;
        last_taken_[i] = 0;
        if (seq && has_last) {
            if (*seq <= last) continue;  // this output has it already
            if (*seq > last + 1) {
                // Records of this reading whose header did not parse may be the missing ones.
                const auto gap = *seq - last - 1;
                if (gap > unnumbered_) out->missed(last + 1, *seq - 1, gap - unnumbered_);
            }
        }
        auto& meta = last_meta_[i];
        meta.pos = pos;
        meta.level = record.level;
        // The first record this output gets with no cursor: nothing before it is owed to it
        // (the ring no longer has it), so its cursor may say so before it is safe itself.
        if (seq) {
            meta.seq.emplace(*seq);
        } else {
            meta.seq.reset();
        }
        if (has_last) {
            meta.before.emplace(last);
        } else if (seq && *seq > 0) {
            meta.before.emplace(*seq - 1);
        } else {
            meta.before.reset();
        }
        last_taken_[i] = 1;
        if (filtered) {
            out->pass(meta);
        } else if (rewritten) {
            if (rewriter_->keep_original()) out->take(record, time, meta);
            out->take(changed_, time, meta);
        } else {
            out->take(record, time, meta);
        }
    }
    if (seq) unnumbered_ = 0;
    // After the record itself: a report it completes follows it, at its position (see
    // report_incident).
    if (incidents_ != nullptr) {
        closing_ = !filtered;
        incidents_->feed(rewritten ? changed_ : record);
        closing_ = false;
    }
}

void pipeline::report_incident(const incidents::incident& incident) {
    using incidents::incident_kind;
    std::uint8_t level = 3;  // err: a task hung, a lockup, a stall, an OOM kill
    switch (incident.kind) {
        case incident_kind::oops:
        case incident_kind::bug:
        case incident_kind::panic:
        case incident_kind::hard_lockup:
            level = 2;  // crit: the kernel itself failed
            break;
        case incident_kind::warning:
            level = 4;
            break;
        default:
            break;
    }
    notice_text_ = "klogd: " + incident.summary();
    auto own = own_notice(notice_text_, level);
    own.incident = &incident;
    const auto time = clock_.time_for(std::nullopt, estimated_);
    if (!closing_) {
        deliver_own(own, time, level);
        return;
    }
    // Completed by the record just delivered: the report is part of that record's delivery
    // (its position, as the -2 twin): the record is not safe in an output until its report is,
    // so a restart reads it again and reports again what did not get out; an output that had
    // the record before this run had the report too, and gets nothing.
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
        if (!last_taken_[i]) continue;
        auto meta = last_meta_[i];
        meta.level = std::min(meta.level, level);
        outputs_[i]->take(own, time, meta);
    }
}

void pipeline::count_delivered(const record_view& record) noexcept {
    ++counters_.records;
    ++counters_.by_facility_level[std::min<unsigned>(record.facility, 24)][record.level & 7U];
    if (rules_ != nullptr) rules_->match(record);
}

void pipeline::on_event(sources::source_event event) {
    switch (event) {
        case sources::source_event::overrun:
            ++counters_.overruns;
            break;
        case sources::source_event::record_lost:
            ++counters_.lost_too_large;
            break;
    }
}

void pipeline::notice(std::string_view text, std::uint8_t level) {
    notice_text_.assign(text);
    deliver_own(own_notice(notice_text_, level), clock_.time_for(std::nullopt, estimated_), level);
}

void pipeline::deliver_own(const record_view& own, const formatters::record_time& time,
                           std::uint8_t level) {
    // A position of its own, behind what each output already has.
    sinks::record_meta meta;
    meta.pos = ++position_;
    meta.level = level;
    for (auto& out : outputs_) {
        meta.before = out->latest_seq();
        out->take(own, time, meta);
    }
}

bool pipeline::blocked() const noexcept {
    return std::any_of(outputs_.begin(), outputs_.end(), [](const auto& o) {
        return o->mode() == sinks::when_full::block && o->full();
    });
}

void pipeline::flush() {
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
        auto& out = *outputs_[i];
        out.flush();
        // Only an error that keeps records waiting is news (a refused connection with nothing
        // to send is not).
        const auto ec = out.unsafe() != 0 ? out.last_error() : std::error_code{};
        if (ec == output_errors_[i]) continue;
        if (diagnostics_) {
            diagnostics_(ec ? out.name() + ": " + ec.message() + " (kept in memory, retrying)"
                            : out.name() + ": writing again");
        }
        output_errors_[i] = ec;
    }
}

void pipeline::reopen() {
    for (auto& out : outputs_) {
        try {
            out->reopen();
        } catch (const std::exception& e) {
            if (diagnostics_) diagnostics_(std::string("cannot reopen output: ") + e.what());
        }
    }
}

}  // namespace klog
