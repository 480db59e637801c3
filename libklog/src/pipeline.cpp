#include "klog/pipeline.hpp"

#include <exception>
#include <string>

namespace klog {

pipeline::pipeline(std::vector<output> outputs) : outputs_(std::move(outputs)) {
    buffer_.reserve(16384);
}

void pipeline::on_record(const record_view& record) {
    if (record.seq) {
        const auto verdict = tracker_.observe(*record.seq);
        if (verdict.duplicate) {
            ++counters_.duplicates;
            return;
        }
        if (verdict.missed) {
            counters_.missed += verdict.missed->count();
            notice("klogd: missed " + std::to_string(verdict.missed->count()) +
                   " kernel messages (seq " + std::to_string(verdict.missed->first) + ".." +
                   std::to_string(verdict.missed->last) + ")");
        }
    }
#ifdef KLOGD_FAULT_DROP_EVERY_TENTH
    // A deliberately broken klogd for the test suite's self-check (tests/vm
    // selfcheck_broken_klogd): it must notice. Only the klogd_broken test binary has this.
    static std::uint64_t fault_counter = 0;
    if (++fault_counter % 10 == 0) return;
#endif
    if (record.malformed) ++counters_.malformed;
    if (record.level > min_level_) {
        ++counters_.filtered;
        return;
    }
    ++counters_.records;
    if (rewriter_ != nullptr && rewriter_->rewrite(record, rewritten_)) {
        if (rewriter_->keep_original()) deliver(record);
        record_view changed = record;
        changed.text = rewritten_;
        deliver(changed);
        return;
    }
    deliver(record);
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
    record_view own;
    own.level = level;
    own.text = notice_text_;
    own.own = true;
    deliver(own);
}

void pipeline::deliver(const record_view& record) {
    const auto time = clock_.time_for(record.ts_usec, estimated_);
    for (auto& out : outputs_) {
        buffer_.clear();
        out.format->format(record, time, buffer_);
        out.sink->write(buffer_, record);
    }
}

void pipeline::flush() {
    output_errors_.resize(outputs_.size());
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
        auto& sink = *outputs_[i].sink;
        sink.flush();
        // Only an error that keeps bytes waiting is news (a refused connection with nothing
        // to send is not).
        const auto ec = sink.has_pending() ? sink.last_error() : std::error_code{};
        if (ec == output_errors_[i]) continue;
        if (diagnostics_) {
            diagnostics_(ec ? sink.name() + ": " + ec.message() + " (kept in memory, retrying)"
                            : sink.name() + ": writing again");
        }
        output_errors_[i] = ec;
    }
}

bool pipeline::has_pending() const noexcept {
    for (const auto& out : outputs_) {
        if (out.sink->has_pending()) return true;
    }
    return false;
}

void pipeline::reopen() {
    for (auto& out : outputs_) {
        try {
            out.sink->reopen();
        } catch (const std::exception& e) {
            if (diagnostics_) diagnostics_(std::string("cannot reopen output: ") + e.what());
        }
    }
}

}  // namespace klog
