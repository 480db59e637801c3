#include "klog/sinks/delivery_queue.hpp"

namespace klog::sinks {

delivery_queue::delivery_queue(limits l, std::unique_ptr<spool> disk)
    : l_(l), spool_(std::move(disk)) {}

void delivery_queue::push(std::string_view bytes, const record_meta& meta) {
    if (spool_) {
        spool_->append(bytes, meta.seq);
        spool_pending_.push_back(meta);
        return;
    }
    window_.push_back({std::string(bytes), meta, 0, false, std::nullopt});
    waiting_bytes_ += bytes.size();
    ++unsafe_;
}

bool delivery_queue::full() const noexcept {
    if (spool_) {
        // A spool that cannot be written (a full disk) keeps records in memory: bounded too.
        // Records taken from it to go from memory count too.
        return spool_->full() || spool_pending_.size() + unsafe_ >= l_.max_records ||
               spool_->unwritten_bytes() + waiting_bytes_ >= l_.max_bytes;
    }
    return window_.size() - acked_ >= l_.max_records || waiting_bytes_ >= l_.max_bytes;
}

std::size_t delivery_queue::write_spool() {
    if (!spool_) return 0;
    const auto n = spool_->write();
    for (std::size_t i = 0; i < n && !spool_pending_.empty(); ++i) spool_pending_.pop_front();
    return n;
}

std::size_t delivery_queue::ready() {
    const auto unsent = window_.size() - acked_ - sent_;
    if (spool_ && unsent < l_.window_records / 2 && spool_->unread()) {
        std::vector<spool::damage> damaged;
        auto got = spool_->read(l_.window_records - unsent, l_.window_bytes, damaged);
        for (const auto& d : damaged) {
            damaged_bytes_ += d.bytes;
            if (damage_notice_) {
                entry notice;
                notice.bytes = damage_notice_(d);
                notice.safe = true;
                waiting_bytes_ += notice.bytes.size();
                window_.push_back(std::move(notice));
            }
        }
        for (auto& r : got) {
            entry e;
            e.bytes = std::move(r.bytes);
            e.meta.seq = r.seq;
            e.safe = true;
            e.at = r.at;
            waiting_bytes_ += e.bytes.size();
            window_.push_back(std::move(e));
        }
    }
    if (spool_ && !spool_->unread() && spool_->unwritten() != 0 && spool_->last_error()) {
        // The spool cannot be written (a full disk): what waits for it goes from memory, safe
        // only once acknowledged — the collector need not wait for the disk.
        auto taken = spool_->take_unwritten();
        for (auto& r : taken) {
            entry e;
            e.bytes = std::move(r.bytes);
            if (!spool_pending_.empty()) {
                e.meta = spool_pending_.front();
                spool_pending_.pop_front();
            }
            waiting_bytes_ += e.bytes.size();
            ++unsafe_;
            window_.push_back(std::move(e));
        }
        spool_pending_.clear();
    }
    return window_.size() - acked_ - sent_;
}

void delivery_queue::mark_sent(std::size_t n, std::uint64_t token) {
    for (std::size_t i = 0; i < n; ++i) unsent(i).token = token;
    sent_ += n;
}

std::size_t delivery_queue::acknowledge(std::uint64_t token, clock::time_point now) {
    std::size_t n = 0;
    std::optional<spool::location> last;
    while (sent_ > 0 && window_[acked_].token <= token) {
        auto& e = window_[acked_];
        if (!e.safe) {
            e.safe = true;
            --unsafe_;
        }
        if (e.at) last = e.at;
        if (e.meta.seq) acknowledged_seq_ = e.meta.seq;
        e.acked_at = now;
        waiting_bytes_ -= e.bytes.size();
        acked_bytes_ += e.bytes.size();
        ++acked_;
        --sent_;
        ++n;
    }
    if (last && spool_) spool_->release(*last);
    while (acked_ > 0 && acked_bytes_ > l_.resend_bytes) {
        acked_bytes_ -= window_.front().bytes.size();
        window_.pop_front();
        --acked_;
    }
    forget_old(now);
    return n;
}

bool delivery_queue::forget_old(clock::time_point now) {
    while (acked_ > 0 && now - window_.front().acked_at >= l_.resend_age) {
        acked_bytes_ -= window_.front().bytes.size();
        window_.pop_front();
        --acked_;
    }
    if (acked_ == 0 && window_.empty()) window_.shrink_to_fit();
    return acked_ > 0;
}

std::size_t delivery_queue::rewind(bool reset) {
    std::size_t n = sent_;
    if (reset) {
        n += acked_;
        for (std::size_t i = 0; i < acked_; ++i) waiting_bytes_ += window_[i].bytes.size();
        acked_ = 0;
        acked_bytes_ = 0;
    }
    sent_ = 0;
    return n;
}

std::optional<record_meta> delivery_queue::first_unsafe() const noexcept {
    // Entries in memory come before what waits for the spool.
    if (unsafe_ != 0) {
        for (std::size_t i = 0; i < window_.size(); ++i) {
            if (!window_[i].safe) return window_[i].meta;
        }
    }
    if (spool_pending_.empty()) return std::nullopt;
    return spool_pending_.front();
}

std::size_t delivery_queue::unsafe() const noexcept { return unsafe_ + spool_pending_.size(); }

bool delivery_queue::idle() const noexcept {
    if (window_.size() != acked_) return false;
    return !spool_ || spool_->empty();
}

}  // namespace klog::sinks
