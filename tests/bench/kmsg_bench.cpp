// The device limit (issue 7, item 2): how fast records come out of this machine's /dev/kmsg
// with nothing but read(2), beside klogd's own read path over the same records, in one process
// (no start-up cost). Only reads /dev/kmsg, never writes it.
//
//   kmsg_bench [PASSES] [RUNS]
//
// A pass = open /dev/kmsg (O_RDONLY|O_NONBLOCK), read every record the ring holds, one read(2)
// per record, until EAGAIN, close. The host ring holds only a few hundred records, so each
// figure is PASSES passes, and the median of RUNS such runs. Measured, in one run, interleaved:
//   raw      the minimal loop: read(2) into a 16 KiB buffer, count, nothing else;
//   klog -x  klog::sources::kmsg_source + klog::pipeline, raw format, file_sink on /dev/null
//            (what `klogd -o -x --format=raw -f /dev/null` does per record);
//   klog     the same with the traditional format and symbol expansion from /proc/kallsyms and
//            /proc/modules (klogd_app's symbol_stage, as the daemon wires it);
//   decoding klog::sources::kmsg_source alone, every record decoded and counted, no pipeline
//            and no output: a bound for the klog -x row (issue 18).
// A pipeline is made per pass (its sequence check would skip the records of the next pass as
// duplicates); the raw loop opens and closes the device per pass too. Only the read loops are
// timed (first read(2) to EAGAIN, plus the pipeline's final flush): opening, setting up and
// closing are not, since the daemon does them once. Rates are median records/s over RUNS runs;
// each "% of raw" is the median of the runs' own ratios.
//
// Prints markdown table rows (| area | what | result | ratio | target |), then
// "# raw_rate=R records_per_pass=N" for run-bench.sh.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "counting_handler.hpp"
#include "klog/formatters/raw_formatter.hpp"
#include "klog/formatters/traditional_formatter.hpp"
#include "klog/pipeline.hpp"
#include "klog/sinks/file_sink.hpp"
#include "klog/sources/kmsg_source.hpp"
#include "klogd/symbol_stage.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Each pass returns its record count and adds the time of its read loop (open, set-up and
// close excluded) to `seconds`.
std::uint64_t raw_pass(std::vector<char>& buffer, double& seconds) {
    const int fd = ::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "/dev/kmsg");
    std::uint64_t records = 0;
    const auto start = clock_type::now();
    for (;;) {
        const ssize_t got = ::read(fd, buffer.data(), buffer.size());
        if (got > 0) {
            ++records;
            continue;
        }
        if (got < 0 && (errno == EINTR || errno == EPIPE)) continue;
        break;  // EAGAIN: drained
    }
    seconds += seconds_since(start);
    ::close(fd);
    return records;
}

std::uint64_t klog_pass(boost::asio::io_context& io, klog::record_rewriter* rewriter,
                        bool traditional, double& seconds) {
    std::unique_ptr<klog::formatters::formatter> format;
    if (traditional) {
        klog::formatters::format_options options;
        options.hostname = "benchhost";
        format = std::make_unique<klog::formatters::traditional_formatter>(options);
    } else {
        format = std::make_unique<klog::formatters::raw_formatter>();
    }
    std::vector<std::unique_ptr<klog::sinks::sink>> outputs;
    outputs.push_back(std::make_unique<klog::sinks::file_sink>("/dev/null", std::move(format)));
    klog::pipeline pipe(std::move(outputs));
    pipe.set_rewriter(rewriter);
    klog::sources::kmsg_source source(io, klog::sources::kmsg_source::open_device("/dev/kmsg"));
    const auto start = clock_type::now();
    for (;;) {  // what application::drain() does
        std::error_code ec;
        pipe.clock().refresh();
        const auto status = source.read_available(pipe, ec);
        if (ec) throw std::system_error(ec, "/dev/kmsg");
        if (status != klog::sources::read_status::more) break;
    }
    pipe.flush();
    seconds += seconds_since(start);
    return pipe.counters().records;
}

std::uint64_t decode_pass(boost::asio::io_context& io, double& seconds) {
    klog_bench::counting_handler handler;
    klog::sources::kmsg_source source(io, klog::sources::kmsg_source::open_device("/dev/kmsg"));
    const auto start = clock_type::now();
    for (;;) {
        std::error_code ec;
        const auto status = source.read_available(handler, ec);
        if (ec) throw std::system_error(ec, "/dev/kmsg");
        if (status != klog::sources::read_status::more) break;
    }
    seconds += seconds_since(start);
    return handler.records;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
    const int passes = argc > 1 ? std::atoi(argv[1]) : 1000;
    const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
    std::vector<char> buffer(klog::sources::kmsg_source::buffer_size);

    klog::symbols::symbol_loader::config cfg;  // /proc/kallsyms, /proc/modules, no map search
    klogd::symbol_stage symbols(cfg, false, false, nullptr);
    symbols.load_all();

    boost::asio::io_context io;  // one, as in the daemon
    std::vector<double> raw_rate, klog_x_rate, klog_rate, decode_rate;
    std::uint64_t per_pass = 0, per_pass_klog = 0;
    for (int run = 0; run < runs; ++run) {
        std::uint64_t records = 0;
        double seconds = 0;
        for (int p = 0; p < passes; ++p) records += raw_pass(buffer, seconds);
        raw_rate.push_back(static_cast<double>(records) / seconds);
        per_pass = records / static_cast<std::uint64_t>(passes);

        records = 0;
        seconds = 0;
        for (int p = 0; p < passes; ++p) records += klog_pass(io, nullptr, false, seconds);
        klog_x_rate.push_back(static_cast<double>(records) / seconds);
        per_pass_klog = records / static_cast<std::uint64_t>(passes);

        records = 0;
        seconds = 0;
        for (int p = 0; p < passes; ++p) records += klog_pass(io, &symbols, true, seconds);
        klog_rate.push_back(static_cast<double>(records) / seconds);

        records = 0;
        seconds = 0;
        for (int p = 0; p < passes; ++p) records += decode_pass(io, seconds);
        decode_rate.push_back(static_cast<double>(records) / seconds);
    }
    const double raw = median(raw_rate), klog_x = median(klog_x_rate), klog = median(klog_rate);
    // Each ratio: the median of the runs' own ratios (the four loops of a run are measured
    // one right after the other, so a machine whose speed drifts between runs slows them alike).
    std::vector<double> x_ratio, ratio, decode_ratio;
    for (std::size_t i = 0; i < raw_rate.size(); ++i) {
        x_ratio.push_back(klog_x_rate[i] / raw_rate[i]);
        ratio.push_back(klog_rate[i] / raw_rate[i]);
        decode_ratio.push_back(decode_rate[i] / raw_rate[i]);
    }
    const double x_share = median(x_ratio), share = median(ratio);
    const double decode = median(decode_rate), decode_share = median(decode_ratio);
    std::printf(
        "| device | raw read(2) loop over /dev/kmsg (%llu records x %d passes, 1 read per record) "
        "| %.2f M records/s (%.0f ns/record) | 100 %% | the limit |\n",
        static_cast<unsigned long long>(per_pass), passes, raw / 1e6, 1e9 / raw);
    std::printf(
        "| device | klog kmsg_source + pipeline, raw format, -x, file on /dev/null (in-process; "
        "%llu records/pass) | %.2f M records/s (%.0f ns/record) | %.0f %% of raw | >= 90 %% |\n",
        static_cast<unsigned long long>(per_pass_klog), klog_x / 1e6, 1e9 / klog_x,
        100.0 * x_share);
    std::printf(
        "| device | same, traditional format + symbols from /proc/kallsyms (%zu core symbols) "
        "| %.2f M records/s (%.0f ns/record) | %.0f %% of raw | (daemon default path) |\n",
        symbols.resolver().kernel().size(), klog / 1e6, 1e9 / klog, 100.0 * share);
    std::printf(
        "| device | klog kmsg_source alone: reads and decodes, records counted, no pipeline, no "
        "output | %.2f M records/s (%.0f ns/record) | %.0f %% of raw | (a bound for the -x row) "
        "|\n",
        decode / 1e6, 1e9 / decode, 100.0 * decode_share);
    std::printf("# raw_rate=%.0f records_per_pass=%llu\n", raw,
                static_cast<unsigned long long>(per_pass));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "kmsg_bench: %s\n", e.what());
    return 1;
}
