#include "klogd/application.hpp"

#include <algorithm>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <system_error>

#include "klog/os/os.hpp"
#include "klog/sources/syscall_source.hpp"
#include "klog/symbols/kaslr.hpp"
#include "klogd/daemon.hpp"
#include "klogd/delivery_report.hpp"
#include "klog/formatters/text_escaper.hpp"
#include "klogd/metrics_view.hpp"
#include "klogd/outputs.hpp"
#include "klogd/source_factory.hpp"

namespace klogd {

namespace {

const char* signal_name(int signo) {
    switch (signo) {
        case SIGTERM:
            return "SIGTERM";
        case SIGINT:
            return "SIGINT";
        case SIGHUP:
            return "SIGHUP";
        case SIGTSTP:
            return "SIGTSTP";
        case SIGCONT:
            return "SIGCONT";
        case SIGUSR1:
            return "SIGUSR1";
        case SIGUSR2:
            return "SIGUSR2";
        default:
            return "signal";
    }
}

std::string host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
    std::string s = name;
    // The short name, as syslog daemons print it.
    if (const auto dot = s.find('.'); dot != std::string::npos && dot > 0) s.resize(dot);
    return s;
}

}  // namespace

application::application(config cfg)
    : cfg_(std::move(cfg)),
      signals_(io_),
      retry_timer_(io_),
      fsync_timer_(io_),
      ahead_timer_(io_),
      metrics_(io_, cfg_, [this] { return render_metrics(); },
               [this](const std::string& m) { diag(m); }),
      pstore_(cfg_, [this](const std::string& m) { diag(m); },
              [this](const klog::incidents::incident& i) { incidents_.report(i); }),
      incidents_(io_, cfg_, boot_id_, [this](const std::string& m) { diag(m); }) {
    start_time_seconds_ = std::chrono::duration<double>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
}

application::~application() = default;

void application::diag(const std::string& message) const {
    if (cfg_.debug) std::cerr << "klogd: " << message << '\n';
}

std::unique_ptr<klog::sources::source> application::open_source() {
    // Every open reads from the oldest record again: a new reading for the sequence checks.
    if (pipeline_) pipeline_->new_session();
    auto opened = klogd::open_source(io_, cfg_, [this](const std::string& m) { diag(m); });
    has_sequence_numbers_ = opened.sequence_numbers;
    syscall_one_shot_ = opened.syscall_one_shot;
    return std::move(opened.source);
}

std::vector<std::unique_ptr<klog::sinks::sink>> application::open_outputs() {
    output_context ctx{io_, {}, cfg_.format, [this](const std::string& m) { diag(m); }};
    ctx.format_options.hostname = host_name();
    ctx.file_color = cfg_.color;
    boot_id_ = klog::cursor_file::current_boot_id();
    // A replayed log is not this boot's: its records never carry this machine's boot id (the
    // (boot, seq) pair is a receiver's key to drop duplicates).
    if (cfg_.source != source_kind::replay) ctx.format_options.boot_id = boot_id_;

    auto specs = cfg_.outputs;
    if (specs.empty()) specs.push_back(default_output(cfg_.foreground || cfg_.one_shot));
    std::vector<std::unique_ptr<klog::sinks::sink>> outputs;
    output_keys_.clear();
    for (auto& spec : specs) {
        // One-shot has nothing to keep up with: an output that would drop waits instead.
        if (cfg_.one_shot) spec.mode = klog::sinks::when_full::block;
        auto sink = make_output(spec, ctx);
        diag("writing to " + sink->name() +
             (sink->mode() == klog::sinks::when_full::drop ? " (drops when full)" : ""));
        sink->set_progress([this] { on_progress(); });
        sink->set_diagnostics([this](const std::string& m) { diag(m); });
        output_keys_.push_back(spec.key);
        outputs.push_back(std::move(sink));
    }
    return outputs;
}

void application::open() {
    // --user: the state directory (and the spools beside the state file) become the user's
    // before anything is made in them.
    if (!cfg_.one_shot && cfg_.user_id && cfg_.group_id && !cfg_.state_file.empty()) {
        daemon::hand_over_state_directory(cfg_.state_file, static_cast<uid_t>(*cfg_.user_id),
                                          static_cast<gid_t>(*cfg_.group_id), *cfg_.user);
    }
    pipeline_ = std::make_unique<klog::pipeline>(open_outputs());
    pipeline_->set_diagnostics([](const std::string& m) { std::cerr << "klogd: " << m << '\n'; });
    if (cfg_.min_level) pipeline_->set_min_level(*cfg_.min_level);
    source_ = open_source();
    pipeline_->clock().set_replay(cfg_.source == source_kind::replay);
    open_symbols();
    incidents_.open(*pipeline_);
    if (cfg_.rules_file) {
        try {
            rules_ = std::make_unique<klog::metrics::rule_set>(klog::metrics::rule_set::load(*cfg_.rules_file));
        } catch (const klog::metrics::rule_error& e) {
            throw std::runtime_error(std::string("--rules ") + e.what());
        }
        pipeline_->set_rules(rules_.get());
        diag("--rules: " + std::to_string(rules_->rules().size()) + " rules from " + *cfg_.rules_file);
    }
}

std::string application::render_metrics() const {
    metrics_view view;
    view.pipeline = pipeline_.get();
    view.incidents = incidents_.stage();
    view.rules = rules_.get();
    view.start_time_seconds = start_time_seconds_;
    return view.render();
}

void application::open_symbols() {
    auto tables = symbol_tables(cfg_, [this](const std::string& m) { diag(m); });
    if (!tables) return;
    // In the daemon, where tables came from is said once in the log itself, as klogd always
    // did; a one-shot dump keeps its output to the kernel's records (-d shows it).
    const bool to_log = !cfg_.one_shot;
    symbols_ = std::make_unique<symbol_stage>(std::move(*tables), cfg_.oops_reload,
                                              cfg_.print_both,
                                              [this, to_log](const std::string& line) {
                                                  diag(line);
                                                  if (to_log)
                                                      pipeline_->notice("klogd: " + line, 6);
                                              });
    symbols_->reload_all();
    pipeline_->set_rewriter(symbols_.get());
}

void application::set_console_level() {
    if (!cfg_.console_level) return;
    std::error_code ec;
    klog::os::kernel_log(klog::sources::klogctl_action::console_level, nullptr,
                         *cfg_.console_level, ec);
    if (ec) {
        throw std::system_error(
            ec, "-c " + std::to_string(*cfg_.console_level) + ": syslog(2) console level");
    }
    diag("console log level set to " + std::to_string(*cfg_.console_level));
}

int application::run() {
    std::signal(SIGPIPE, SIG_IGN);  // a vanished reader is an error code, not a death
    set_console_level();
    return cfg_.one_shot ? run_once() : run_daemon();
}

klog::sources::read_status application::read_once(bool& failed) {
    std::error_code ec;
    pipeline_->clock().refresh();
    const auto status = source_->read_available(*pipeline_, ec);
    if (ec) {
        std::cerr << "klogd: " << source_->name() << ": " << ec.message() << '\n';
        failed = true;
        return klog::sources::read_status::end;
    }
    return status;
}

bool application::output_broken() const {
    for (const auto& out : pipeline_->outputs()) {
        if (out->broken()) return true;
    }
    return false;
}

void application::watch_modules() {
    // Only where module symbols come from this kernel's /proc/kallsyms.
    if (!symbols_ || cfg_.source == source_kind::replay ||
        (cfg_.kallsyms && *cfg_.kallsyms != defaults::kallsyms)) {
        return;
    }
    module_events_ = watch_module_events(io_, *symbols_, [this](const std::string& m) { diag(m); },
                                         [this](const std::string& text) {
                                             std::cerr << "klogd: " << text << '\n';
                                             pipeline_->notice("klogd: " + text, 5);
                                         });
}

void application::drain() {
    if (!source_ || stopping_) return;
    for (;;) {
        // A module's events before its records (they were sent before it printed).
        if (module_events_) module_events_->poll();
        if (pipeline_->blocked()) {
            flush_outputs();
            if (stopping_) return;
            if (pipeline_->blocked()) {
                if (!paused_) {
                    for (const auto& out : pipeline_->outputs()) {
                        if (out->mode() == klog::sinks::when_full::block && out->full()) {
                            diag(out->name() + " can take no more: reading paused (the kernel "
                                               "ring holds the records meanwhile)");
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
            stop(1);
            return;
        }
        if (status == klog::sources::read_status::more) {
            // A long backlog: the cursor keeps up batch by batch, and the outputs' own work
            // (sends, acknowledgements) runs between batches: the rest is read in a handler.
            pipeline_->flush();
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
            pipeline_->set_estimated_times(false);
            // Only once the kernel gave something: a source with nothing to give at the first
            // read (a stand-in that has not served yet) tells nothing about what it holds.
            if (!session_checked_ && kernel_gave_records()) {
                session_checked_ = true;
                if (!pipeline_->ahead_of_kernel().empty()) check_ahead_later();
            }
        }
        flush_outputs();
        if (status == klog::sources::read_status::end && !stopping_) {
            diag(source_->name() + ": end of input");
            stop(0);
        }
        return;
    }
}

void application::check_ahead_later(int rounds) {
    // A cursor past the newest record read so far: sure only once nothing more comes for a
    // moment (a stand-in may still be sending what the kernel would have had at once; on a
    // busy machine it may take longer than a second to get there: while it makes progress,
    // up to 30 s, look again).
    const auto newest = pipeline_->newest_read();
    ahead_timer_.expires_after(std::chrono::seconds(1));
    ahead_timer_.async_wait([this, newest, rounds](const boost::system::error_code& ec) {
        if (ec || stopping_ || suspended_ || !source_) return;
        if (pipeline_->ahead_of_kernel().empty()) return;
        if (pipeline_->newest_read() != newest && rounds < 30) {
            check_ahead_later(rounds + 1);
            return;
        }
        if (restart_ahead_outputs()) {
            drain();
            wait_for_records();
        }
    });
}

bool application::restart_ahead_outputs() {
    // A saved cursor past the newest record the kernel has (a state file from the future, or
    // damaged): that output would skip everything. It gets the whole ring again instead.
    const auto ahead = pipeline_->ahead_of_kernel();
    if (ahead.empty() || cfg_.source == source_kind::replay) return false;
    for (const auto i : ahead) {
        auto& out = *pipeline_->outputs()[i];
        out.cursor_past_kernel();
        pipeline_->notice("klogd: " + out.name() + ": the saved cursor (seq " +
                          std::to_string(out.latest_seq().value_or(0)) +
                          ") is past the newest kernel record: it gets the whole ring again");
        pipeline_->resume(i, std::nullopt);
    }
    try {
        source_->close();
        source_ = open_source();
    } catch (const std::system_error& e) {
        std::cerr << "klogd: " << e.what() << '\n';
        stop(1);
        return false;
    }
    return true;
}

void application::resume_reading() {
    if (!paused_ || stopping_ || suspended_ || pipeline_->blocked()) return;
    paused_ = false;
    diag("reading again");
    drain();
    wait_for_records();
}

void application::on_progress() {
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

void application::flush_outputs() {
    pipeline_->flush();
    save_cursor();
    if (output_broken()) {
        for (const auto& out : pipeline_->outputs()) {
            if (out->broken()) {
                std::cerr << "klogd: " << out->name() << ": " << out->last_error().message()
                          << ": nothing more can be written there; stopping\n";
            }
        }
        stop(1);
        return;
    }
    arm_retry();
    arm_fsync();
    if (daemon_mode_ && !stopping_) incidents_.arm([this] { flush_outputs(); });
    pstore_.archive(*pipeline_);
}

void application::arm_retry() {
    if (retry_armed_ || stopping_ || !daemon_mode_) return;
    bool waiting = false;
    for (const auto& out : pipeline_->outputs()) waiting = waiting || out->unsafe() != 0;
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

void application::arm_fsync() {
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

void application::sync_outputs() {
    for (const auto& out : pipeline_->outputs()) out->sync();
}

void application::wait_for_records() {
    if (!source_ || stopping_ || paused_ || drain_posted_) return;
    source_->async_wait([this](std::error_code ec) {
        if (ec || stopping_ || suspended_ || paused_) return;  // closed, cancelled, stopping
        drain();
        wait_for_records();
    });
}

void application::start_cursor() {
    if (!has_sequence_numbers_ || cfg_.state_file.empty()) return;
    cursor_.emplace(cfg_.state_file, boot_id_, output_keys_, [this](const std::string& m) { diag(m); });
    cursor_->resume(*pipeline_);
}

void application::prepare_for_user() {
    if (!cfg_.user_id || !cfg_.group_id) return;
    const auto uid = static_cast<uid_t>(*cfg_.user_id);
    const auto gid = static_cast<gid_t>(*cfg_.group_id);
    for (const auto& out : pipeline_->outputs()) out->hand_over(uid, gid);
}

void application::begin_cursor() {
    start_cursor();
    if (cursor_) {
        for (const auto& out : pipeline_->outputs()) {
            if (!out->latest_seq()) out->save_cursor_before_writing([this] { save_cursor(); });
        }
    }
    // Where every output stands before anything is written: bytes a file gets after this and
    // before the next save are cut at the next start, even if this run is killed at once.
    save_cursor();
}

bool application::kernel_gave_records() const {
    const auto& n = pipeline_->counters();
    return n.records + n.malformed + n.missed + n.duplicates + n.filtered + n.overruns != 0;
}

void application::save_cursor(bool durable, bool clean) {
    if (cursor_) cursor_->save(*pipeline_, durable, clean);
}

void application::suspend() {
    if (suspended_ || !source_) return;
    diag("SIGTSTP: closing " + source_->name() + " until SIGCONT");
    source_->close();
    source_.reset();
    suspended_ = true;
}

void application::resume() {
    if (!suspended_) return;
    try {
        source_ = open_source();
    } catch (const std::system_error& e) {
        std::cerr << "klogd: SIGCONT: " << e.what() << "; still suspended\n";
        return;
    }
    suspended_ = false;
    diag("SIGCONT: reading " + source_->name() + " again");
    drain();  // records already delivered are skipped by their sequence numbers
    wait_for_records();
}

void application::stop(int status) {
    if (status != 0) exit_status_ = status;
    if (stopping_) return;
    stopping_ = true;
    if (source_) source_->close();
    signals_.cancel();
    retry_timer_.cancel();
    fsync_timer_.cancel();
    ahead_timer_.cancel();
    incidents_.stop();
    metrics_.stop();
    io_.stop();
}

void application::watch_signals() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        switch (signo) {
            case SIGTERM:
            case SIGINT:
                diag(std::string("stopping on ") + signal_name(signo));
                stop(0);
                return;
            case SIGHUP:
                diag("SIGHUP: reopening outputs");
                pipeline_->flush();
                pipeline_->reopen();
                flush_outputs();
                break;
            case SIGTSTP:
                suspend();
                break;
            case SIGCONT:
                resume();
                break;
            case SIGUSR1:
            case SIGUSR2:
                if (!symbols_) {
                    diag(std::string(signal_name(signo)) + ": no address resolution (-x)");
                    break;
                }
                diag(std::string(signal_name(signo)) +
                     (signo == SIGUSR1 ? ": reloading module symbols" : ": reloading all symbols"));
                if (signo == SIGUSR1) {
                    symbols_->reload_modules();
                } else {
                    symbols_->reload_all();
                }
                flush_outputs();
                break;
            default:
                break;
        }
        watch_signals();
    });
}

bool application::settle(std::chrono::milliseconds quiet) {
    if (io_.stopped()) io_.restart();
    last_progress_ = clock::now();
    auto next_flush = clock::now();
    for (;;) {
        if (clock::now() >= next_flush) {
            pipeline_->flush();  // a file on a full disk tries again
            save_cursor();
            next_flush = clock::now() + std::chrono::milliseconds(100);
        }
        bool idle = true;
        for (const auto& out : pipeline_->outputs()) {
            if (!out->broken() && !out->idle()) idle = false;
        }
        if (idle) return true;
        if (clock::now() - last_progress_ >= quiet) return false;
        io_.run_one_for(std::chrono::milliseconds(50));
        if (io_.stopped()) io_.restart();
    }
}

bool application::wait_unblocked(std::chrono::milliseconds quiet) {
    if (io_.stopped()) io_.restart();
    last_progress_ = clock::now();
    auto next_flush = clock::now();
    while (pipeline_->blocked()) {
        if (output_broken()) return false;
        if (clock::now() - last_progress_ >= quiet) return false;
        if (clock::now() >= next_flush) {
            pipeline_->flush();
            next_flush = clock::now() + std::chrono::milliseconds(100);
            continue;
        }
        io_.run_one_for(std::chrono::milliseconds(50));
        if (io_.stopped()) io_.restart();
    }
    return true;
}

void application::close_outputs() {
    for (const auto& out : pipeline_->outputs()) out->close();
    if (io_.stopped()) io_.restart();
    const auto deadline = clock::now() + std::chrono::seconds(1);
    for (;;) {
        bool closed = true;
        for (const auto& out : pipeline_->outputs()) closed = closed && out->closed();
        if (closed || clock::now() >= deadline) break;
        io_.run_one_for(std::chrono::milliseconds(50));
        if (io_.stopped()) io_.restart();
    }
    pipeline_->flush();
    sync_outputs();
}

int application::run_once() {
    pipeline_->set_estimated_times(true);
    pipeline_->clock().refresh();
    if (!(syscall_one_shot_ && source_->read_snapshot(*pipeline_))) {
        // Read until drained (EAGAIN) or the end of a replayed file, never waiting for the
        // kernel; while an output is full, wait for it instead of dropping.
        bool failed = false;
        for (;;) {
            if (pipeline_->blocked()) {
                pipeline_->flush();
                if (!wait_unblocked(cfg_.flush_timeout)) {
                    gave_up_reading_ = true;
                    break;
                }
            }
            if (read_once(failed) != klog::sources::read_status::more) break;
            if (output_broken()) break;
            // Let the outputs send while the rest is read.
            pipeline_->flush();
            if (io_.stopped()) io_.restart();
            io_.poll();
        }
        if (failed) exit_status_ = 1;
    }
    incidents_.stage()->finish();
    for (const auto& out : pipeline_->outputs()) out->finish();
    pipeline_->flush();
    settle(cfg_.flush_timeout);
    close_outputs();
    if (!report_delivery(true)) exit_status_ = 1;
    report_counters();
    return exit_status_;
}

int application::run_daemon() {
    daemon_mode_ = true;
    for (const int signo : {SIGTERM, SIGINT, SIGHUP, SIGTSTP, SIGCONT, SIGUSR1, SIGUSR2}) {
        signals_.add(signo);
    }
    // What the daemon writes after dropping privileges must be writable by that user.
    prepare_for_user();
    // Before detaching, so that "already running" reaches the terminal.
    pidfile_.emplace(cfg_.pidfile);
    if (!cfg_.foreground) {
        io_.notify_fork(boost::asio::io_context::fork_prepare);
        daemon::detach(cfg_.debug);
        io_.notify_fork(boost::asio::io_context::fork_child);
    }
    pidfile_->write(::getpid());
    metrics_.start();  // a port below 1024 is bound before privileges go
    if (cfg_.user) daemon::drop_privileges(*cfg_.user);
    watch_signals();

    watch_modules();
    begin_cursor();
    // Backlog first (times estimated until caught up), then live; before it all, what the
    // previous boot left in pstore.
    pipeline_->set_estimated_times(true);
    if (pstore_.deliver(*pipeline_)) flush_outputs();
    drain();
    wait_for_records();
    daemon::ready();
    daemon::notify("READY=1");
    diag("running (pid " + std::to_string(::getpid()) + ")");

    io_.run();

    daemon::notify("STOPPING=1");
    incidents_.stage()->finish();  // a block still open is reported as it is
    // What the outputs still hold gets a short while; what does not make it stays behind the
    // saved cursor and is read again from the ring at the next start (or waits in a spool).
    for (const auto& out : pipeline_->outputs()) out->finish();
    pipeline_->flush();
    settle(std::min(cfg_.flush_timeout, std::chrono::milliseconds(2000)));
    pstore_.archive(*pipeline_);
    close_outputs();
    save_cursor(true, true);
    metrics_.close();
    metrics_.write_file();
    report_delivery(false);
    report_counters();
    pidfile_->remove();
    return exit_status_;
}

bool application::report_delivery(bool one_shot) const {
    return klogd::report_delivery(*pipeline_, one_shot, gave_up_reading_, cfg_.flush_timeout);
}

void application::report_counters() const {
    klogd::report_counters(*pipeline_, source_ ? source_->cut_lines() : 0, cfg_.debug);
}

}  // namespace klogd
