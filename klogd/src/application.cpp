#include "klogd/application.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <system_error>

#include "klog/sinks/file_sink.hpp"
#include "klog/sources/kmsg_source.hpp"
#include "klog/sources/proc_kmsg_source.hpp"
#include "klog/sources/replay_source.hpp"
#include "klog/sources/syscall_source.hpp"

namespace klogd {

namespace {

bool is_char_device(const char* path) {
    struct stat st {};
    return ::stat(path, &st) == 0 && S_ISCHR(st.st_mode);
}

std::string read_first_line(const char* path) {
    std::FILE* f = std::fopen(path, "re");
    if (f == nullptr) return {};
    char line[256] = {};
    std::string s;
    if (std::fgets(line, sizeof line, f) != nullptr) s = line;
    std::fclose(f);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
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
    : cfg_(std::move(cfg)), stop_signals_(io_), hup_signal_(io_) {}

application::~application() = default;

void application::diag(const std::string& message) const {
    if (cfg_.debug) std::cerr << "klogd: " << message << '\n';
}

std::unique_ptr<klog::sources::source> application::open_source() {
    using namespace klog::sources;
    switch (cfg_.source) {
        case source_kind::replay: {
            const int fd = replay_source::open_file(cfg_.replay_path);
            diag("replaying " + cfg_.replay_path);
            return std::make_unique<replay_source>(io_, fd, cfg_.replay_path);
        }
        case source_kind::kmsg:
            diag("reading /dev/kmsg");
            return std::make_unique<kmsg_source>(io_, kmsg_source::open_device("/dev/kmsg"));
        case source_kind::proc:
            diag("reading /proc/kmsg (destructive: other readers no longer see what klogd reads)");
            return std::make_unique<proc_kmsg_source>(io_, proc_kmsg_source::open_file("/proc/kmsg"));
        case source_kind::syscall:
            diag("reading through syslog(2)");
            syscall_one_shot_ = cfg_.one_shot;
            return std::make_unique<syscall_source>(io_, system_klogctl());
        case source_kind::automatic:
            break;
    }
    // Auto: /dev/kmsg (a character device) → /proc/kmsg → syslog(2). One-shot never takes the
    // destructive /proc/kmsg: it falls back to syslog(2) READ_ALL, which leaves the log as it is.
    if (is_char_device("/dev/kmsg")) {
        try {
            auto s = std::make_unique<kmsg_source>(io_, kmsg_source::open_device("/dev/kmsg"));
            diag("reading /dev/kmsg");
            return s;
        } catch (const std::system_error& e) {
            std::cerr << "klogd: " << e.what() << "; falling back\n";
        }
    } else {
        diag("/dev/kmsg is not a character device; falling back");
    }
    if (!cfg_.one_shot) {
        try {
            auto s = std::make_unique<proc_kmsg_source>(io_, proc_kmsg_source::open_file("/proc/kmsg"));
            diag("reading /proc/kmsg");
            return s;
        } catch (const std::system_error& e) {
            std::cerr << "klogd: " << e.what() << "; falling back to syslog(2)\n";
        }
    }
    diag("reading through syslog(2)");
    syscall_one_shot_ = cfg_.one_shot;
    return std::make_unique<syscall_source>(io_, system_klogctl());
}

std::vector<klog::output> application::open_outputs() {
    klog::formatters::format_options fopts;
    fopts.hostname = host_name();
    fopts.boot_id = read_first_line("/proc/sys/kernel/random/boot_id");

    auto specs = cfg_.outputs;
    if (specs.empty()) {
        // Default: local syslog. Without a syslog daemon, a foreground klogd prints instead.
        if (::access(cfg_.syslog_socket.c_str(), F_OK) == 0) {
            specs.push_back({output_spec::kind::syslog, cfg_.syslog_socket});
        } else if (cfg_.foreground || cfg_.one_shot) {
            std::cerr << "klogd: warning: " << cfg_.syslog_socket
                      << " does not exist; writing to standard output\n";
            specs.push_back({output_spec::kind::file, "-"});
        } else {
            throw std::system_error(ENOENT, std::generic_category(),
                                    cfg_.syslog_socket + " (no local syslog daemon; use -f FILE)");
        }
    }
    std::vector<klog::output> outputs;
    for (const auto& spec : specs) {
        klog::output out;
        switch (spec.type) {
            case output_spec::kind::file:
                out.format = klog::formatters::make_formatter(cfg_.format, fopts);
                out.sink = std::make_unique<klog::sinks::file_sink>(spec.path);
                break;
            case output_spec::kind::syslog:
                throw std::system_error(ENOSYS, std::generic_category(),
                                        "local syslog output is not available yet; use -f");
        }
        diag("writing to " + out.sink->name());
        outputs.push_back(std::move(out));
    }
    return outputs;
}

void application::open() {
    pipeline_ = std::make_unique<klog::pipeline>(open_outputs());
    pipeline_->set_diagnostics([this](const std::string& m) { std::cerr << "klogd: " << m << '\n'; });
    if (cfg_.min_level) pipeline_->set_min_level(*cfg_.min_level);
    source_ = open_source();
    pipeline_->clock().set_replay(cfg_.source == source_kind::replay);
}

void application::drain() {
    for (;;) {
        std::error_code ec;
        pipeline_->clock().refresh();
        const auto status = source_->read_available(*pipeline_, ec);
        if (ec) {
            std::cerr << "klogd: " << source_->name() << ": " << ec.message() << '\n';
            exit_status_ = 1;
            stop();
            return;
        }
        if (status == klog::sources::read_status::more) continue;
        pipeline_->flush();
        if (status == klog::sources::read_status::end) {
            stop();
            return;
        }
        return;  // drained
    }
}

int application::run_once() {
    pipeline_->set_estimated_times(true);
    if (syscall_one_shot_) {
        auto& s = dynamic_cast<klog::sources::syscall_source&>(*source_);
        pipeline_->clock().refresh();
        s.read_all(*pipeline_);
        pipeline_->flush();
        return exit_status_;
    }
    // Read until drained (EAGAIN) or the end of a replayed file, never waiting.
    for (;;) {
        std::error_code ec;
        pipeline_->clock().refresh();
        const auto status = source_->read_available(*pipeline_, ec);
        if (ec) {
            std::cerr << "klogd: " << source_->name() << ": " << ec.message() << '\n';
            pipeline_->flush();
            return 1;
        }
        if (status != klog::sources::read_status::more) break;
    }
    pipeline_->flush();
    return exit_status_;
}

void application::wait_for_records() {
    source_->async_wait([this](std::error_code ec) {
        if (ec) return;  // closed or cancelled: stopping
        drain();
        if (source_) wait_for_records();
    });
}

void application::stop() {
    if (source_) source_->close();
    stop_signals_.cancel();
    hup_signal_.cancel();
    io_.stop();
}

int application::run_live() {
    stop_signals_.add(SIGTERM);
    stop_signals_.add(SIGINT);
    stop_signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        diag(std::string("stopping on ") + (signo == SIGTERM ? "SIGTERM" : "SIGINT"));
        stop();
    });
    hup_signal_.add(SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_hup =
        [this, &on_hup](const boost::system::error_code& ec, int) {
            if (ec) return;
            diag("SIGHUP: reopening outputs");
            pipeline_->reopen();
            hup_signal_.async_wait(on_hup);
        };
    hup_signal_.async_wait(on_hup);

    // Backlog first (times estimated), then live.
    pipeline_->set_estimated_times(true);
    drain();
    pipeline_->set_estimated_times(false);
    if (!io_.stopped()) wait_for_records();
    io_.run();
    pipeline_->flush();
    return exit_status_;
}

}  // namespace klogd
