// Fuzz target for issue 12: arbitrary sequences of records through the decoders and every
// formatter in line mode (what a file or standard output receives), checking that nothing in
// a record can run into the next one, forge a line, pass for klogd's own notice, or leave a raw
// control byte.
//
// Input: repeated [length: 2 bytes, big-endian][flags: 1 byte][length bytes]. Each piece is
// decoded as one /dev/kmsg record (parse_kmsg_record) and also fed as a chunk of /proc/kmsg
// text to one line_decoder that lives across the pieces (lines split across chunks, lines past
// line_decoder::max_line). Flags: bit 0 marks the record as klogd's own (record_view::own, as
// pipeline::notice() does); bit 1 marks its time estimated; bits 2..7 move the wall clock.
//
// Invariants, for traditional, rfc3164, raw, json and rfc5424 with format_options::line_mode:
//  - the output is complete lines: it ends with '\n'; json and rfc5424 are exactly one line
//    per record; the syslog line formats (traditional, rfc3164, raw) are one line per line of
//    the message, each the same prefix followed by that line escaped by text_escaper (so the
//    text is recovered exactly, and a newline in it never starts a line of its own);
//  - no line holds a control byte (TAB is allowed: it can neither end a line nor start a
//    terminal sequence, and kernel text uses it), DEL, a C1 control or invalid UTF-8
//    (text_escaper::is_safe);
//  - klogd's own mark, and the kernel's, are where the format puts them and nowhere else:
//    TAG `klogd:` / `kernel:` (traditional, rfc3164), `<PRI,klogd>` (raw), `"origin":"klogd"` /
//    `"origin":"kernel"` (json), APP-NAME `klogd` / `kernel` (rfc5424) if and only if the
//    record is klogd's own / the kernel's.
//
// 4. Sequence numbers (issue 12, "no record after a valid one is lost"): every decoded /dev/kmsg
//    record also goes through a klog::pipeline. Whatever numbers came before (backwards, huge
//    jumps, repeats, unparsable headers), every record is delivered except an immediate repeat
//    of the same number, and a valid record after them all is always delivered: the pipeline
//    never goes silent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "klog/decoders/kmsg_decoder.hpp"
#include "klog/decoders/line_decoder.hpp"
#include "klog/formatters/format_kind.hpp"
#include "klog/formatters/formatter.hpp"
#include "klog/formatters/text_escaper.hpp"
#include "klog/pipeline.hpp"
#include "klog/record_view.hpp"

namespace {

using klog::formatters::format_kind;
using klog::formatters::text_escaper;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "record_stream_fuzz: invariant broken: %s\n", what);
        std::abort();
    }
}

/// Counts what the pipeline delivers; everything is safe at once.
class counting_sink final : public klog::sinks::sink {
  public:
    counting_sink()
        : sink("count", klog::formatters::make_formatter(format_kind::raw, {}),
               klog::sinks::when_full::block) {}
    std::size_t kernel_items = 0;
    std::string last;
    [[nodiscard]] std::size_t unsafe() const noexcept override { return 0; }
    [[nodiscard]] std::size_t queued() const noexcept override { return 0; }
    [[nodiscard]] bool full() const noexcept override { return false; }
    [[nodiscard]] bool idle() const noexcept override { return true; }
    void flush() override {}

  protected:
    void put(std::string_view bytes, const klog::sinks::record_meta&) override {
        if (!bytes.starts_with("<4,klogd>")) ++kernel_items;
        last.assign(bytes);
    }
    [[nodiscard]] std::optional<klog::sinks::record_meta> first_unsafe() const noexcept override {
        return std::nullopt;
    }
};

/// Feeds the decoded records to a pipeline and checks what it delivers.
class sequence_check {
  public:
    sequence_check() {
        std::vector<std::unique_ptr<klog::sinks::sink>> outs;
        auto c = std::make_unique<counting_sink>();
        sink_ = c.get();
        outs.push_back(std::move(c));
        pipe_ = std::make_unique<klog::pipeline>(std::move(outs));
    }
    void feed(const klog::record_view& r) {
        // Only an immediate repeat of a number is not delivered.
        const bool repeat = r.seq && have_last_ && *r.seq == last_;
        const auto before = sink_->kernel_items;
        pipe_->on_record(r);
        check(sink_->kernel_items - before == (repeat ? 0U : 1U),
              "every record is delivered once, but an immediate repeat of its number");
        if (r.seq) {
            have_last_ = true;
            last_ = *r.seq;
        }
    }
    void finish() {
        // A valid record with the next number after all that: delivered.
        const std::uint64_t next = have_last_ && last_ < UINT64_MAX ? last_ + 1 : 0;
        const std::string text = "6," + std::to_string(next) + ",0,-;sentinel\n";
        std::string scratch;
        const auto before = sink_->kernel_items;
        pipe_->on_record(klog::decoders::parse_kmsg_record(text, scratch));
        check(sink_->kernel_items == before + 1 && sink_->last.find("sentinel") != std::string::npos,
              "a valid record after any sequence is delivered");
    }

  private:
    std::unique_ptr<klog::pipeline> pipe_;
    counting_sink* sink_ = nullptr;
    bool have_last_ = false;  // (not std::optional: g++ 12 -O2 warns on it here)
    std::uint64_t last_ = 0;
};

constexpr std::string_view host = "fuzz-host";

struct formatters {
    std::unique_ptr<klog::formatters::formatter> traditional, rfc3164, raw, json, rfc5424;
    formatters() {
        klog::formatters::format_options o;
        o.hostname = std::string(host);
        o.boot_id = "b00t";
        o.line_mode = true;
        traditional = klog::formatters::make_formatter(format_kind::traditional, o);
        rfc3164 = klog::formatters::make_formatter(format_kind::rfc3164, o);
        raw = klog::formatters::make_formatter(format_kind::raw, o);
        json = klog::formatters::make_formatter(format_kind::json, o);
        rfc5424 = klog::formatters::make_formatter(format_kind::rfc5424, o);
    }
};

void check_safe_line(std::string_view line) {
    for (const char ch : line) {
        const auto c = static_cast<unsigned char>(ch);
        check(c >= 0x20 || c == '\t', "no control byte but TAB in a line");
    }
    check(text_escaper::is_safe(line), "line is valid UTF-8 without DEL or C1");
}

/// One line per line of `message`, each `prefix` + the escaped line; returns the prefix.
std::string_view check_prefixed_lines(std::string_view out, std::string_view message) {
    check(!out.empty() && out.back() == '\n', "line output ends with a newline");
    std::string_view prefix;
    bool first = true;
    std::string expected;
    for (;;) {
        const auto nl = message.find('\n');
        const auto end = out.find('\n');
        check(end != std::string_view::npos, "one output line per message line");
        const std::string_view line = out.substr(0, end);
        check_safe_line(line);
        expected.clear();
        text_escaper::append(expected, message.substr(0, nl));
        check(line.size() >= expected.size() &&
                  line.substr(line.size() - expected.size()) == expected,
              "a line ends with its message line escaped");
        const std::string_view this_prefix = line.substr(0, line.size() - expected.size());
        if (first) {
            prefix = this_prefix;
            first = false;
        } else {
            check(this_prefix == prefix, "every line has the record's prefix");
        }
        out.remove_prefix(end + 1);
        if (nl == std::string_view::npos) break;
        message.remove_prefix(nl + 1);
    }
    check(out.empty(), "no line more than the message has");
    return prefix;
}

void check_one_line(std::string_view out) {
    check(!out.empty() && out.back() == '\n', "record output ends with a newline");
    check(out.find('\n') == out.size() - 1, "record output is one line");
    check_safe_line(out.substr(0, out.size() - 1));
}

/// The TAG of a syslog line prefix `[<PRI>]Mmm dd hh:mm:ss HOST TAG...`.
std::string_view syslog_tag(std::string_view prefix, bool with_pri) {
    if (with_pri) prefix.remove_prefix(prefix.find('>') + 1);
    check(prefix.size() > 16 + host.size() + 1, "syslog prefix has time and host");
    prefix.remove_prefix(16);  // `Mmm dd hh:mm:ss `
    check(prefix.substr(0, host.size()) == host, "syslog prefix has the host");
    return prefix.substr(host.size() + 1);
}

void check_record(const formatters& f, const klog::record_view& r,
                  const klog::formatters::record_time& time) {
    const bool own = r.own;
    const bool kernel = r.from_kernel();
    const klog::origin origin = r.origin();
    std::string out;

    // traditional, rfc3164: the message after the tag; kernel records: the whole text.
    for (const bool with_pri : {false, true}) {
        out.clear();
        (with_pri ? f.rfc3164 : f.traditional)->format(r, time, out);
        const std::string_view message = kernel ? r.text : origin.message;
        const auto tag = syslog_tag(check_prefixed_lines(out, message), with_pri);
        check(tag.starts_with("klogd: ") == own, "TAG klogd: exactly for klogd's own");
        check(tag.starts_with("kernel: ") == kernel, "TAG kernel: exactly for the kernel's");
    }

    out.clear();
    f.raw->format(r, time, out);
    const auto raw_prefix = check_prefixed_lines(out, r.text);
    const auto close = raw_prefix.find('>');
    check(raw_prefix.starts_with("<") && close != std::string_view::npos, "raw starts with PRI");
    check(raw_prefix.substr(0, close).ends_with(",klogd") == own, "<PRI,klogd> exactly for own");

    out.clear();
    f.json->format(r, time, out);
    check_one_line(out);
    check((out.find(",\"origin\":\"klogd\"") != std::string::npos) == own,
          "json origin klogd exactly for klogd's own");
    check((out.find(",\"origin\":\"kernel\"") != std::string::npos) == kernel,
          "json origin kernel exactly for the kernel's");

    out.clear();
    f.rfc5424->format(r, time, out);
    check_one_line(out);
    // `<PRI>1 TIMESTAMP HOST APP-NAME ...`
    std::string_view fields = out;
    for (int i = 0; i < 3; ++i) fields.remove_prefix(fields.find(' ') + 1);
    const std::string_view app = fields.substr(0, fields.find(' '));
    check((app == "klogd") == own, "APP-NAME klogd exactly for klogd's own");
    check((app == "kernel") == kernel, "APP-NAME kernel exactly for the kernel's");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const formatters f;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    klog::decoders::line_decoder proc;
    std::string scratch;
    klog::formatters::record_time time{1'793'770'262'123'456LL, false};
    sequence_check sequence;
    while (in.size() >= 3) {
        const std::size_t len =
            (static_cast<unsigned char>(in[0]) << 8U) | static_cast<unsigned char>(in[1]);
        const auto flags = static_cast<unsigned char>(in[2]);
        in.remove_prefix(3);
        const std::string_view piece = in.substr(0, len);
        in.remove_prefix(piece.size());
        time.estimated = (flags & 2U) != 0;
        time.wall_usec += static_cast<std::int64_t>(flags >> 2U) * 86'400'000'000LL;

        klog::record_view r = klog::decoders::parse_kmsg_record(piece, scratch);
        if (!r.own) sequence.feed(r);
        r.own = (flags & 1U) != 0;
        check_record(f, r, time);

        proc.feed(piece, [&](const klog::record_view& line) { check_record(f, line, time); });
        check(proc.pending() <= klog::decoders::line_decoder::max_line, "a line is held bounded");
    }
    proc.finish([&](const klog::record_view& line) { check_record(f, line, time); });
    sequence.finish();
    return 0;
}
