// Reading alone (issue 18): what reading and decoding a saved log take by themselves, as klogd -o
// does them, as a bound for the throughput rows (a replay handles the records meanwhile, on
// another thread, but takes no less than this). It opens FILE as klogd -o
// --source=FILE does (a replay_source read and decoded on read_ahead_source's thread, the
// records copied into batches and handed to this thread) and hands every record to a handler
// that only counts it: no pipeline, no symbols, no incidents, no formatting, no output.
// run-bench.sh times the whole process, start-up included, as it times klogd.
//
//   replay_read_bench FILE
//
// Prints "records=N" on standard output. Exit 1 when FILE cannot be read.
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <system_error>

#include "counting_handler.hpp"
#include "klog/sources/read_ahead_source.hpp"
#include "klog/sources/replay_source.hpp"

int main(int argc, char** argv) try {
    if (argc != 2) {
        std::fputs("usage: replay_read_bench FILE\n", stderr);
        return 2;
    }
    const std::string path = argv[1];
    boost::asio::io_context io;
    const int fd = klog::sources::replay_source::open_file(path);
    klog::sources::read_ahead_source source(
        io, std::make_unique<klog::sources::replay_source>(io, fd, path));
    klog_bench::counting_handler handler;
    for (;;) {  // what the read loop does with -o
        std::error_code ec;
        const auto status = source.read_available(handler, ec);
        if (ec) throw std::system_error(ec, path);
        if (status == klog::sources::read_status::end) break;
    }
    source.close();
    std::printf("records=%llu text_bytes=%llu\n", static_cast<unsigned long long>(handler.records),
                static_cast<unsigned long long>(handler.bytes));
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "replay_read_bench: %s\n", e.what());
    return 1;
}
