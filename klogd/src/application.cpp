#include "klogd/application.hpp"

#include <csignal>
#include <iostream>
#include <system_error>

#include "klogd/config_checks.hpp"
#include "klogd/delivery_report.hpp"
#include "klogd/metrics_view.hpp"
#include "klogd/outputs.hpp"
#include "klogd/source_factory.hpp"

namespace klogd {

application::application(config cfg)
    : cfg_(std::move(cfg)),
      metrics_(
          io_, cfg_,
          [this] {
              return metrics_view{pipeline_.get(), incidents_.stage(), rules_.get(),
                                  start_time_seconds_}
                  .render();
          },
          diag_fn()),
      pstore_(cfg_, diag_fn(),
              [this](const klog::incidents::incident& i) { incidents_.report(i); }),
      incidents_(io_, cfg_, boot_id_, diag_fn()),
      lifecycle_(cfg_) {}

application::~application() {
    // The outputs' destructors run what is still queued on io_ (a stream output: up to a
    // second): the read loop's cancelled timers and posted handlers, which must find it alive
    // and stopped, and signals must stay caught meanwhile. So the pipeline goes first.
    if (loop_) loop_->stop();
    pipeline_.reset();
}

read_loop::diag_fn application::diag_fn() {
    return [this](const std::string& m) {
        if (cfg_.debug) std::cerr << "klogd: " << m << '\n';
    };
}

void application::open() {
    lifecycle_.prepare();
    boot_id_ = klog::cursor_file::current_boot_id();
    auto outputs = open_outputs(io_, cfg_, boot_id_, diag_fn(), [this] {
        if (loop_) loop_->on_progress();
    });
    output_keys_ = std::move(outputs.keys);
    pipeline_ = std::make_unique<klog::pipeline>(std::move(outputs.sinks));
    pipeline_->set_diagnostics([](const std::string& m) { std::cerr << "klogd: " << m << '\n'; });
    if (cfg_.min_level) pipeline_->set_min_level(*cfg_.min_level);
    loop_ = std::make_unique<read_loop>(
        io_, cfg_, *pipeline_,
        read_loop::hooks{diag_fn(), [this](int status) { stop(status); },
                         [this] {
                             if (!cfg_.one_shot && !stopping_) {
                                 incidents_.arm([this] { loop_->flush_outputs(); });
                             }
                             pstore_.archive(*pipeline_);
                         },
                         // A module's events before its records (sent before it printed).
                         [this] {
                             if (module_events_) module_events_->poll();
                         }});
    loop_->open_source();
    pipeline_->clock().set_replay(cfg_.source == source_kind::replay);
    symbols_ = make_symbol_stage(cfg_, diag_fn(), [this](const std::string& line) {
        pipeline_->notice("klogd: " + line, 6);
    });
    if (symbols_) pipeline_->set_rewriter(symbols_.get());
    incidents_.open(*pipeline_);
    rules_ = load_rules(cfg_);
    if (rules_) {
        pipeline_->set_rules(rules_.get());
        diag_fn()("--rules: " + std::to_string(rules_->rules().size()) + " rules from " +
                  *cfg_.rules_file);
    }
}

int application::run() {
    std::signal(SIGPIPE, SIG_IGN);  // a vanished reader is an error code, not a death
    set_console_level(cfg_, diag_fn());
    return cfg_.one_shot ? run_once() : run_daemon();
}

void application::stop(int status) {
    if (status != 0) exit_status_ = status;
    if (stopping_) return;
    stopping_ = true;
    loop_->stop();
    if (signals_) signals_->cancel();
    incidents_.stop();
    metrics_.stop();
    io_.stop();
}

int application::run_once() {
    pipeline_->set_estimated_times(true);
    pipeline_->clock().refresh();
    if (!loop_->read_snapshot() && !loop_->read_all()) exit_status_ = 1;
    // What loading the tables said (-d), also when no record needed them; a load that failed
    // is an error, though every record went out (its addresses raw).
    if (symbols_) {
        symbols_->wait_loaded();
        if (const auto& why = symbols_->load_failure()) {
            std::cerr << "klogd: symbol tables: " << *why << " (every address left raw)\n";
            exit_status_ = 1;
        }
    }
    if (!finish(cfg_.flush_timeout)) exit_status_ = 1;
    return exit_status_;
}

int application::run_daemon() {
    signals_.emplace(
        io_, diag_fn(),
        signal_actions::for_daemon(*pipeline_, *loop_, symbols_.get(), [this] { stop(0); }));
    lifecycle_.start(io_, *pipeline_, [this] { metrics_.start(); });
    signals_->start();

    module_events_ =
        watch_module_events(io_, cfg_, symbols_.get(), diag_fn(), [this](const std::string& text) {
            std::cerr << "klogd: " << text << '\n';
            pipeline_->notice("klogd: " + text, 5);
        });
    loop_->begin_cursor(boot_id_, output_keys_);
    // Backlog first (times estimated until caught up), then live; before it all, what the
    // previous boot left in pstore.
    pipeline_->set_estimated_times(true);
    if (pstore_.deliver(*pipeline_)) loop_->flush_outputs();
    loop_->start();
    lifecycle_.ready(diag_fn());

    io_.run();

    lifecycle::stopping();
    // What does not make it in this short while stays behind the saved cursor and is read
    // again from the ring at the next start (or waits in a spool).
    finish(std::min(cfg_.flush_timeout, std::chrono::milliseconds(2000)));
    lifecycle_.end();
    return exit_status_;
}

bool application::finish(std::chrono::milliseconds quiet) {
    incidents_.stage()->finish();  // a block still open is reported as it is
    for (const auto& out : pipeline_->outputs()) out->finish();
    pipeline_->flush();
    loop_->settle(quiet);
    if (!cfg_.one_shot) pstore_.archive(*pipeline_);
    loop_->close_outputs();
    if (!cfg_.one_shot) {
        loop_->save_cursor(true, true);
        metrics_.close();
        metrics_.write_file();
    }
    const bool delivered = report_delivery(*pipeline_, cfg_.one_shot, loop_->gave_up_reading());
    report_counters(*pipeline_, loop_->cut_lines(), loop_->cut_records(), cfg_.debug);
    return delivered;
}

}  // namespace klogd
