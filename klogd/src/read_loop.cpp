#include "klogd/read_loop.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <iostream>
#include <system_error>
#include <thread>

#include "klogd/source_factory.hpp"

namespace klogd {

read_loop::read_loop(boost::asio::io_context& io, const config& cfg, klog::pipeline& pipeline,
                     hooks h)
    : io_(io),
      cfg_(cfg),
      pipeline_(pipeline),
      hooks_(std::move(h)),
      retry_timer_(io),
      fsync_timer_(io),
      ahead_timer_(io) {}

void read_loop::open_source() {
    // Every open reads from the oldest record again: a new reading for the sequence checks.
    pipeline_.new_session();
    auto opened = klogd::open_source(io_, cfg_, hooks_.diag);
    has_sequence_numbers_ = opened.sequence_numbers;
    syscall_one_shot_ = opened.syscall_one_shot;
    source_ = std::move(opened.source);
}

klog::sources::read_status read_loop::read_once(bool& failed) {
    std::error_code ec;
    pipeline_.clock().refresh();
    const auto status = source_->read_available(pipeline_, ec);
    if (ec) {
        std::cerr << "klogd: " << source_->name() << ": " << ec.message() << '\n';
        failed = true;
        return klog::sources::read_status::end;
    }
    return status;
}

bool read_loop::output_broken() const {
    for (const auto& out : pipeline_.outputs()) {
        if (out->broken()) return true;
    }
    return false;
}

void read_loop::drain() {
    if (!source_ || stopping_ || suspended_) return;
    for (;;) {
        if (hooks_.before_read) hooks_.before_read();
        if (pipeline_.blocked()) {
            flush_outputs();
            if (stopping_) return;
            if (pipeline_.blocked()) {
                if (!paused_) {
                    for (const auto& out : pipeline_.outputs()) {
                        if (out->mode() == klog::sinks::when_full::block && out->full()) {
                            hooks_.diag(out->name() +
                                        " can take no more: reading paused (the "
                                        "kernel ring holds the records meanwhile)");
                        }
                    }
                }
                paused_ = true;
                return;
            }
        }
        bool failed = false;
        const auto status = read_once(failed);
        if (failed) {
            flush_outputs();
            hooks_.stop(1);
            return;
        }
        if (status == klog::sources::read_status::more) {
            // A long backlog: the cursor keeps up batch by batch, and the outputs' own work
            // (sends, acknowledgements) runs between batches: the rest is read in a handler.
            pipeline_.flush();
            save_cursor();
            if (++batches_in_a_row_ < 8) continue;
            batches_in_a_row_ = 0;
            drain_posted_ = true;
            boost::asio::post(io_, [this] {
                drain_posted_ = false;
                if (stopping_ || suspended_ || paused_) return;
                drain();
                wait_for_records();
            });
            return;
        }
        batches_in_a_row_ = 0;
        // Caught up: from now on records are seen as they happen.
        if (status == klog::sources::read_status::drained) {
            pipeline_.set_estimated_times(false);
            // Only once the kernel gave something: a source with nothing to give at the first
            // read (a stand-in that has not served yet) tells nothing about what it holds.
            if (!session_checked_ && kernel_gave_records()) {
                session_checked_ = true;
                if (!pipeline_.ahead_of_kernel().empty()) check_ahead_later();
            }
        }
        flush_outputs();
        if (status == klog::sources::read_status::end && !stopping_) {
            hooks_.diag(source_->name() + ": end of input");
            hooks_.stop(0);
        }
        return;
    }
}

void read_loop::check_ahead_later(int rounds) {
    // A cursor past the newest record read so far: sure only once nothing more comes for a
    // moment (a stand-in may still be sending what the kernel would have had at once; on a
    // busy machine it may take longer than a second to get there: while it makes progress,
    // up to 30 s, look again).
    const auto newest = pipeline_.newest_read();
    ahead_timer_.expires_after(std::chrono::seconds(1));
    ahead_timer_.async_wait([this, newest, rounds](const boost::system::error_code& ec) {
        if (ec || stopping_ || suspended_ || !source_) return;
        if (pipeline_.ahead_of_kernel().empty()) return;
        if (pipeline_.newest_read() != newest && rounds < 30) {
            check_ahead_later(rounds + 1);
            return;
        }
        if (restart_ahead_outputs()) {
            drain();
            wait_for_records();
        }
    });
}

bool read_loop::restart_ahead_outputs() {
    // A saved cursor past the newest record the kernel has (a state file from the future, or
    // damaged): that output would skip everything. It gets the whole ring again instead.
    const auto ahead = pipeline_.ahead_of_kernel();
    if (ahead.empty() || cfg_.source == source_kind::replay) return false;
    for (const auto i : ahead) {
        auto& out = *pipeline_.outputs()[i];
        out.cursor_past_kernel();
        pipeline_.notice("klogd: " + out.name() + ": the saved cursor (seq " +
                         std::to_string(out.latest_seq().value_or(0)) +
                         ") is past the newest kernel record: it gets the whole ring again");
        pipeline_.resume(i, std::nullopt);
    }
    try {
        source_->close();
        open_source();
    } catch (const std::system_error& e) {
        std::cerr << "klogd: " << e.what() << '\n';
        hooks_.stop(1);
        return false;
    }
    return true;
}

void read_loop::resume_reading() {
    if (!paused_ || stopping_ || suspended_ || pipeline_.blocked()) return;
    paused_ = false;
    hooks_.diag("reading again");
    drain();
    wait_for_records();
}

void read_loop::on_progress() {
    last_progress_ = clock::now();
    if (!daemon_mode_ || progress_posted_) return;
    // Not from inside the output's handler: the pipeline may be in the middle of a batch.
    progress_posted_ = true;
    boost::asio::post(io_, [this] {
        progress_posted_ = false;
        if (stopping_) return;
        save_cursor();
        resume_reading();
    });
}

void read_loop::flush_outputs() {
    pipeline_.flush();
    save_cursor();
    if (output_broken()) {
        for (const auto& out : pipeline_.outputs()) {
            if (out->broken()) {
                std::cerr << "klogd: " << out->name() << ": " << out->last_error().message()
                          << ": nothing more can be written there; stopping\n";
            }
        }
        hooks_.stop(1);
        return;
    }
    arm_retry();
    arm_fsync();
    if (hooks_.written) hooks_.written();
}

void read_loop::arm_retry() {
    if (retry_armed_ || stopping_ || !daemon_mode_) return;
    bool waiting = false;
    for (const auto& out : pipeline_.outputs()) waiting = waiting || out->unsafe() != 0;
    if (!waiting) return;
    // An output could not write (full disk, peer away): try again in a second even if the
    // kernel stays quiet.
    retry_armed_ = true;
    retry_timer_.expires_after(std::chrono::seconds(1));
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
        retry_armed_ = false;
        if (ec || stopping_) return;
        flush_outputs();
        resume_reading();
    });
}

void read_loop::arm_fsync() {
    if (fsync_armed_ || stopping_ || !daemon_mode_) return;
    // Power loss: what was written in the last few seconds reaches the disk (crit and worse
    // are fsync'ed at once); a quiet system wakes for nothing.
    fsync_armed_ = true;
    fsync_timer_.expires_after(std::chrono::seconds(5));
    fsync_timer_.async_wait([this](const boost::system::error_code& ec) {
        fsync_armed_ = false;
        if (ec || stopping_) return;
        sync_outputs();
        save_cursor(true);
    });
}

void read_loop::sync_outputs() {
    for (const auto& out : pipeline_.outputs()) out->sync();
}

void read_loop::wait_for_records() {
    if (!source_ || stopping_ || paused_ || drain_posted_) return;
    source_->async_wait([this](std::error_code ec) {
        if (ec || stopping_ || suspended_ || paused_) return;  // closed, cancelled, stopping
        drain();
        wait_for_records();
    });
}

void read_loop::begin_cursor(const std::string& boot_id,
                             const std::vector<std::string>& output_keys) {
    daemon_mode_ = true;
    if (has_sequence_numbers_ && !cfg_.state_file.empty()) {
        cursor_.emplace(cfg_.state_file, boot_id, output_keys, hooks_.diag);
        cursor_->resume(pipeline_);
        for (const auto& out : pipeline_.outputs()) {
            if (!out->latest_seq()) out->save_cursor_before_writing([this] { save_cursor(); });
        }
    }
    // Where every output stands before anything is written: bytes a file gets after this and
    // before the next save are cut at the next start, even if this run is killed at once.
    save_cursor();
}

void read_loop::start() {
    drain();
    wait_for_records();
}

bool read_loop::kernel_gave_records() const {
    const auto& n = pipeline_.counters();
    return n.records + n.malformed + n.missed + n.duplicates + n.filtered + n.overruns != 0;
}

void read_loop::save_cursor(bool durable, bool clean) {
    if (cursor_) cursor_->save(pipeline_, durable, clean);
}

void read_loop::suspend() {
    if (suspended_ || !source_) return;
    suspended_ = true;
    if (cfg_.source == source_kind::replay) {
        // Nothing of the kernel's to let go of: a replay pauses where it is. Reopened, a file
        // would be read from its start again (a dmesg log has no sequence numbers to skip what
        // was delivered) and standard input would lose the record read in part.
        hooks_.diag("SIGTSTP: pausing the replay of " + source_->name() + " until SIGCONT");
        return;
    }
    hooks_.diag("SIGTSTP: closing " + source_->name() + " until SIGCONT");
    source_->close();
    source_.reset();
}

void read_loop::resume() {
    if (!suspended_) return;
    if (!source_) {
        try {
            open_source();
        } catch (const std::system_error& e) {
            std::cerr << "klogd: SIGCONT: " << e.what() << "; still suspended\n";
            return;
        }
    }
    suspended_ = false;
    hooks_.diag("SIGCONT: reading " + source_->name() + " again");
    // An output that was full when reading paused may have drained meanwhile: its progress
    // found reading suspended then, and nothing would start it again.
    if (paused_ && !pipeline_.blocked()) paused_ = false;
    drain();  // records already delivered are skipped by their sequence numbers
    wait_for_records();
}

void read_loop::stop() {
    if (stopping_) return;
    stopping_ = true;
    if (source_) source_->close();
    retry_timer_.cancel();
    fsync_timer_.cancel();
    ahead_timer_.cancel();
}

bool read_loop::settle(std::chrono::milliseconds quiet) {
    if (io_.stopped()) io_.restart();
    last_progress_ = clock::now();
    auto next_flush = clock::now();
    for (;;) {
        if (clock::now() >= next_flush) {
            pipeline_.flush();  // a file on a full disk tries again
            save_cursor();
            next_flush = clock::now() + std::chrono::milliseconds(100);
        }
        bool idle = true;
        for (const auto& out : pipeline_.outputs()) {
            if (!out->broken() && !out->idle()) idle = false;
        }
        if (idle) return true;
        if (clock::now() - last_progress_ >= quiet) return false;
        run_until(next_flush);
    }
}

void read_loop::run_until(clock::time_point next_flush) {
    const auto until = std::min(next_flush, clock::now() + std::chrono::milliseconds(50));
    // Nothing to run (no output has a socket or a timer: a file on a full disk) returns at
    // once: wait for the next flush instead of spinning.
    if (io_.run_one_until(until) == 0 && io_.stopped()) std::this_thread::sleep_until(until);
    if (io_.stopped()) io_.restart();
}

bool read_loop::wait_unblocked(std::chrono::milliseconds quiet) {
    if (io_.stopped()) io_.restart();
    last_progress_ = clock::now();
    auto next_flush = clock::now();
    while (pipeline_.blocked()) {
        if (output_broken()) return false;
        if (clock::now() - last_progress_ >= quiet) return false;
        if (clock::now() >= next_flush) {
            pipeline_.flush();
            next_flush = clock::now() + std::chrono::milliseconds(100);
            continue;
        }
        run_until(next_flush);
    }
    return true;
}

void read_loop::close_outputs() {
    for (const auto& out : pipeline_.outputs()) out->close();
    if (io_.stopped()) io_.restart();
    const auto deadline = clock::now() + std::chrono::seconds(1);
    for (;;) {
        bool closed = true;
        for (const auto& out : pipeline_.outputs()) closed = closed && out->closed();
        if (closed || clock::now() >= deadline) break;
        io_.run_one_for(std::chrono::milliseconds(50));
        if (io_.stopped()) io_.restart();
    }
    pipeline_.flush();
    sync_outputs();
}

bool read_loop::read_snapshot() { return syscall_one_shot_ && source_->read_snapshot(pipeline_); }

bool read_loop::read_all() {
    // Read until drained (EAGAIN) or the end of a replayed file, never waiting for the
    // kernel; while an output is full, wait for it instead of dropping.
    bool failed = false;
    for (;;) {
        if (pipeline_.blocked()) {
            pipeline_.flush();
            if (!wait_unblocked(cfg_.flush_timeout)) {
                gave_up_reading_ = true;
                say_stopped_reading();
                break;
            }
        }
        if (read_once(failed) != klog::sources::read_status::more) break;
        if (output_broken()) break;
        // Let the outputs send while the rest is read.
        pipeline_.flush();
        if (io_.stopped()) io_.restart();
        io_.poll();
    }
    return !failed;
}

void read_loop::say_stopped_reading() const {
    // Now, while it is known which output held reading up: it may drain before the exit.
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(cfg_.flush_timeout).count();
    for (const auto& out : pipeline_.outputs()) {
        if (out->mode() == klog::sinks::when_full::block && out->full()) {
            std::cerr << "klogd: stopped reading: " << out->name() << " could take no more for "
                      << secs << " s; the records after those read are not delivered\n";
        }
    }
}

std::uint64_t read_loop::cut_lines() const { return source_ ? source_->cut_lines() : 0; }
std::uint64_t read_loop::cut_records() const { return source_ ? source_->cut_records() : 0; }

}  // namespace klogd
