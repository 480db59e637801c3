// Fuzz target for every formatter: arbitrary bytes as text, caller and dictionary, checking
// the invariants the sinks rely on.
//
// Input layout: [0] facility, [1] level (low 3 bits) + flags (has ts, has seq, estimated,
// caller length in the high bits), [2] dictionary length, [3..] ts/seq bytes, then the caller,
// the dictionary block and the text (the rest).
//
// Invariants:
//  - line formats (traditional, rfc3164, raw): output ends with '\n'; it has exactly one line
//    per text line; every line is the same prefix followed by that text line escaped; no byte
//    is a control but '\n' and TAB, and every line is safe for text_escaper (valid UTF-8, no
//    C1, no DEL).
//  - json: one line ending in '\n', starting `{"time":"`, ending `"}`, safe for text_escaper.
//  - rfc5424: no trailing newline; everything before MSG is safe and has no newline; the
//    output ends with " " + MSG when MSG is not empty.
//  - coloured line formats (format_options::color): without line_colors' sequences the output
//    is exactly the plain one (no other escape sequence), and the last sequence on every line
//    is the reset.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "klog/formatters/format_kind.hpp"
#include "klog/formatters/formatter.hpp"
#include "klog/formatters/line_colors.hpp"
#include "klog/formatters/text_escaper.hpp"
#include "klog/record_view.hpp"

namespace {

using klog::formatters::format_kind;
using klog::formatters::text_escaper;

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "formatters_fuzz: invariant broken: %s\n", what);
        std::abort();
    }
}

bool has_forbidden_control(std::string_view line) {
    for (const char ch : line) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
    }
    return false;
}

void check_lines(std::string_view out, std::string_view message) {
    check(!out.empty() && out.back() == '\n', "line output ends with a newline");
    std::string_view prefix;
    bool first = true;
    std::string expected;
    for (;;) {
        const auto nl = message.find('\n');
        const std::string_view text_line = message.substr(0, nl);
        const auto end = out.find('\n');
        check(end != std::string_view::npos, "one output line per text line");
        const std::string_view line = out.substr(0, end);
        check(!has_forbidden_control(line), "no control bytes but TAB in a line");
        check(text_escaper::is_safe(line), "line is safe UTF-8");
        expected.clear();
        text_escaper::append(expected, text_line);
        check(line.size() >= expected.size() &&
                  line.substr(line.size() - expected.size()) == expected,
              "line ends with the escaped text line");
        const std::string_view this_prefix = line.substr(0, line.size() - expected.size());
        if (first) {
            prefix = this_prefix;
            first = false;
        } else {
            check(this_prefix == prefix, "every line starts with the same prefix");
        }
        out.remove_prefix(end + 1);
        if (nl == std::string_view::npos) break;
        message.remove_prefix(nl + 1);
    }
    check(out.empty(), "no extra lines");
}

/// `out` without line_colors' sequences; checks that each line's last one is the reset.
std::string strip_colors(std::string_view out) {
    using klog::formatters::line_colors;
    std::string plain;
    bool open = false;
    while (!out.empty()) {
        if (out.front() == '\n') check(!open, "every line ends in the normal rendition");
        if (out.front() != '\x1b') {
            plain += out.front();
            out.remove_prefix(1);
            continue;
        }
        std::string_view seq;
        for (const auto known :
             {line_colors::reset, line_colors::prefix, line_colors::own, line_colors::own_info,
              line_colors::level(0), line_colors::level(2), line_colors::level(3),
              line_colors::level(4), line_colors::level(5)}) {
            if (out.starts_with(known)) seq = known;
        }
        check(!seq.empty(), "only line_colors' sequences in coloured output");
        open = seq != line_colors::reset;
        out.remove_prefix(seq.size());
    }
    return plain;
}

struct reader {
    const std::uint8_t* data;
    std::size_t size;
    std::uint8_t byte() {
        if (size == 0) return 0;
        --size;
        return *data++;
    }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
        return v;
    }
    std::string_view take(std::size_t n) {
        if (n > size) n = size;
        const std::string_view s(reinterpret_cast<const char*>(data), n);
        data += n;
        size -= n;
        return s;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    reader in{data, size};
    klog::record_view r;
    r.facility = in.byte();
    const std::uint8_t bits = in.byte();
    r.level = bits & 7U;
    const std::size_t dict_len = in.byte();
    klog::formatters::record_time time;
    if ((bits & 0x08U) != 0) r.ts_usec = in.u64();
    if ((bits & 0x10U) != 0) r.seq = in.u64();
    time.estimated = (bits & 0x20U) != 0;
    time.wall_usec = static_cast<std::int64_t>(in.u64());
    r.flag = static_cast<char>(in.byte());
    r.caller = in.take(bits >> 6U ? (bits >> 6U) * 3U : 0U);
    const std::string_view dict = in.take(dict_len);
    std::size_t entries = dict.empty() ? 0 : 1;
    for (const char c : dict) entries += c == '\n' ? 1 : 0;
    r.dictionary = klog::dictionary_view(dict, entries);
    r.text = in.take(in.size);

    const klog::formatters::format_options options{"fuzz-host", "boot"};
    auto colored = options;
    colored.color = true;
    const klog::origin origin = r.origin();
    std::string out;
    for (const auto kind : {format_kind::traditional, format_kind::raw, format_kind::json,
                            format_kind::rfc3164, format_kind::rfc5424}) {
        const auto f = klog::formatters::make_formatter(kind, options);
        out.clear();
        f->format(r, time, out);
        if (kind == format_kind::traditional || kind == format_kind::raw ||
            kind == format_kind::rfc3164) {
            std::string with_colors;
            klog::formatters::make_formatter(kind, colored)->format(r, time, with_colors);
            check(strip_colors(with_colors) == out, "colours only added around the plain line");
        }
        switch (kind) {
            case format_kind::raw:
                check_lines(out, r.text);
                break;
            case format_kind::traditional:
            case format_kind::rfc3164:
                check_lines(out, origin.message);
                break;
            case format_kind::json: {
                check(out.find('\n') == out.size() - 1, "json is one line");
                const std::string_view body(out.data(), out.size() - 1);
                check(body.substr(0, 9) == "{\"time\":\"", "json starts with time");
                check(body.size() >= 2 && body.substr(body.size() - 2) == "\"}",
                      "json ends with the text string");
                check(!has_forbidden_control(body), "json has no control bytes");
                check(text_escaper::is_safe(body), "json is safe UTF-8");
                break;
            }
            case format_kind::rfc5424: {
                const std::string_view message = origin.message;
                std::string_view head = out;
                if (!message.empty()) {
                    check(out.size() > message.size() + 1, "rfc5424 has a header");
                    check(std::string_view(out).substr(out.size() - message.size()) == message,
                          "rfc5424 MSG is the text as it is");
                    head = head.substr(0, out.size() - message.size() - 1);
                    check(out[head.size()] == ' ', "rfc5424 MSG after a space");
                }
                check(head.substr(0, 1) == "<", "rfc5424 starts with PRI");
                check(!has_forbidden_control(head), "rfc5424 header has no control bytes");
                check(text_escaper::is_safe(head), "rfc5424 header is safe UTF-8");
                break;
            }
        }
    }
    return 0;
}
