#include "klog/pipeline.hpp"

#include <algorithm>
#include <exception>
#include <string>

namespace klog {

pipeline::pipeline(std::vector<std::unique_ptr<sinks::sink>> outputs)
    : outputs_(std::move(outputs)), output_errors_(outputs_.size()) {}

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

void pipeline::on_record(const record_view& record) {
    const auto seq = record.seq;
    if (seq) {
        const bool wanted = std::any_of(outputs_.begin(), outputs_.end(), [&](const auto& o) {
            const auto l = o->latest_seq();
            return !l || *seq > *l;
        });
        if (!wanted) {
            ++counters_.duplicates;
            return;
        }
        if (read_last_ && *seq > *read_last_ + 1) counters_.missed += *seq - *read_last_ - 1;
        if (!read_last_ || *seq > *read_last_) read_last_ = seq;
    }
#ifdef KLOGD_FAULT_DROP_EVERY_TENTH
    // A deliberately broken klogd for the test suite's self-check (tests/vm
    // selfcheck_broken_klogd): it must notice. Only the klogd_broken test binary has this.
    static std::uint64_t fault_counter = 0;
    if (++fault_counter % 10 == 0) return;
#endif
    if (record.malformed) ++counters_.malformed;
    const bool filtered = record.level > min_level_;
    if (filtered) {
        ++counters_.filtered;
    } else {
        ++counters_.records;
    }
    const bool rewritten =
        !filtered && rewriter_ != nullptr && rewriter_->rewrite(record, rewritten_);
    record_view changed = record;
    if (rewritten) changed.text = rewritten_;
    const auto time = clock_.time_for(record.ts_usec, estimated_);
    sinks::record_meta meta;
    meta.pos = ++position_;
    meta.seq = seq;
    meta.level = record.level;
    for (auto& out : outputs_) {
        const auto last = out->latest_seq();
        if (seq && last) {
            if (*seq <= *last) continue;  // this output has it already
            if (*seq > *last + 1) out->missed(*last + 1, *seq - 1);
        }
        meta.before = seq ? last : std::nullopt;
        if (filtered) {
            out->pass(meta);
        } else if (rewritten) {
            if (rewriter_->keep_original()) out->take(record, time, meta);
            out->take(changed, time, meta);
        } else {
            out->take(record, time, meta);
        }
    }
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
    const auto own = own_notice(notice_text_, level);
    const auto time = clock_.time_for(std::nullopt, estimated_);
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
