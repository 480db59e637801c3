#include "klog/sources/replay_source.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "klog/decoders/kmsg_decoder.hpp"
#include "klog/os/os.hpp"
#include "klog/text/byte_blocks.hpp"

namespace klog::sources {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// `PRI,SEQ,TS` followed by ',' or ';' — the start of a /dev/kmsg record.
bool looks_like_kmsg_header(std::string_view s) noexcept {
    int fields = 0;
    std::size_t i = 0;
    while (fields < 3) {
        const std::size_t begin = i;
        while (i < s.size() && is_digit(s[i])) ++i;
        if (i == begin || i >= s.size()) return false;
        ++fields;
        if (fields < 3 && s[i] != ',') return false;
        if (fields == 3) return s[i] == ',' || s[i] == ';';
        ++i;
    }
    return false;
}

}  // namespace

int replay_source::open_file(const std::string& path) {
    if (path == "-") return STDIN_FILENO;
    return os::open(path, O_RDONLY | O_NOCTTY).release();
}

std::optional<replay_format> replay_source::detect(std::string_view head, bool at_end) noexcept {
    if (looks_like_kmsg_header(head)) {
        // The first byte after the first record tells the two saved forms apart: NUL for one
        // record per read(2) saved with NUL separators, the next header for `cat /dev/kmsg`.
        for (auto nl = head.find('\n'); nl != std::string_view::npos;
             nl = head.find('\n', nl + 1)) {
            if (nl + 1 >= head.size()) break;
            if (head[nl + 1] == '\0') return replay_format::kmsg_nul;
            if (head[nl + 1] != ' ') return replay_format::kmsg_lines;
        }
        if (!at_end) return std::nullopt;
        return head.find('\0') != std::string_view::npos ? replay_format::kmsg_nul
                                                         : replay_format::kmsg_lines;
    }
    if (head.find('\n') == std::string_view::npos && !at_end) return std::nullopt;
    if (head.size() >= 3 && head[0] == '<' && is_digit(head[1])) return replay_format::dmesg_raw;
    return replay_format::dmesg_plain;
}

replay_source::replay_source(boost::asio::io_context& io, int fd, std::string name)
    : io_(io), fd_(fd), name_(std::move(name)), chunk_(chunk_size) {}

replay_source::~replay_source() { close(); }

void replay_source::close() noexcept {
    if (fd_ > STDIN_FILENO) os::unique_fd(fd_).reset();
    fd_ = -1;
}

read_status replay_source::read_available(record_handler& handler, std::error_code& ec) {
    ec.clear();
    if (fd_ < 0) {
        ec = std::make_error_code(std::errc::bad_file_descriptor);
        return read_status::end;
    }
    // Room for a whole chunk after what the last read left (a record longer than a chunk
    // makes it grow).
    if (chunk_.size() - carry_ < chunk_size) chunk_.resize(carry_ + chunk_size);
    const auto got = os::read(fd_, chunk_.data() + carry_, chunk_size, ec);
    if (ec) return read_status::end;
    const auto on_record = [&](const record_view& r) { handler.on_record(r); };
    if (detected_ && kmsg_form()) {
        const std::string_view bytes(chunk_.data(), carry_ + got);
        const std::size_t taken = deliver(handler, bytes, got == 0);
        std::memmove(chunk_.data(), chunk_.data() + taken, bytes.size() - taken);
        carry_ = bytes.size() - taken;
    } else if (detected_) {
        decoder_.feed(std::string_view(chunk_.data(), got), on_record);
    } else {
        pending_.append(chunk_.data(), got);
        const auto format = detect(pending_, got == 0);
        if (!format) return read_status::more;
        format_ = *format;
        detected_ = true;
        if (kmsg_form()) {
            const std::size_t taken = deliver(handler, pending_, got == 0);
            // What is left goes where the next read continues it.
            carry_ = pending_.size() - taken;
            if (chunk_.size() < carry_ + chunk_size) chunk_.resize(carry_ + chunk_size);
            pending_.copy(chunk_.data(), carry_, taken);
        } else {
            decoder_ = decoders::line_decoder(format_ == replay_format::dmesg_raw
                                                  ? decoders::line_decoder::prefix::required
                                                  : decoders::line_decoder::prefix::optional);
            decoder_.feed(pending_, on_record);
        }
        pending_.clear();
        pending_.shrink_to_fit();
    }
    if (got == 0) {
        decoder_.finish(on_record);
        return read_status::end;
    }
    return read_status::more;
}

void replay_source::deliver_kmsg_record(record_handler& handler, std::string_view bytes) {
    if (bytes.empty()) return;
    decoders::parse_kmsg_record(bytes, scratch_, record_);
    handler.on_record(record_);
}

std::size_t replay_source::deliver(record_handler& handler, std::string_view bytes, bool at_end) {
    std::string_view rest = bytes;
    if (format_ == replay_format::kmsg_nul) {
        for (auto nul = text::find_byte(rest, '\0'); nul != std::string_view::npos;
             nul = text::find_byte(rest, '\0')) {
            deliver_kmsg_record(handler, rest.substr(0, nul));
            rest.remove_prefix(nul + 1);
        }
    } else {
        // kmsg_lines: a record is its header line plus the indented dictionary lines after it;
        // it is complete once the next unindented line has started.
        std::size_t record_end = 0;  // end of the complete records found so far
        std::size_t pos = 0;
        while (true) {
            const auto nl = text::find_byte(rest, '\n', pos);
            if (nl == std::string_view::npos) break;
            const std::size_t next = nl + 1;
            if (next < rest.size() && rest[next] != ' ') {
                deliver_kmsg_record(handler, rest.substr(record_end, next - record_end));
                record_end = next;
            }
            pos = next;
        }
        rest.remove_prefix(record_end);
    }
    if (at_end) {
        deliver_kmsg_record(handler, rest);
        rest = {};
    }
    return bytes.size() - rest.size();
}

void replay_source::async_wait(std::function<void(std::error_code)> done) {
    boost::asio::post(io_, [this, done = std::move(done)] {
        done(fd_ < 0 ? std::make_error_code(std::errc::operation_canceled) : std::error_code{});
    });
}

}  // namespace klog::sources
