#include "klog/incidents/incident_stage.hpp"

#include <time.h>

#include <algorithm>
#include <optional>

#include "klog/incidents/incident_patterns.hpp"
#include "klog/text/byte_blocks.hpp"
#include "klog/text/needle_set.hpp"

namespace klog::incidents {

namespace {

constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_name_char(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '.' || c == '$';
}

std::string_view ltrim(std::string_view s) noexcept {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    return s;
}

std::string_view rtrim(std::string_view s) noexcept {
    while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

/// Digits at the front of `s` (consumed); none or more than fits: nullopt.
std::optional<std::uint32_t> take_number(std::string_view& s) noexcept {
    std::uint64_t v = 0;
    std::size_t n = 0;
    while (n < s.size() && is_digit(s[n]) && n < 10)
        v = v * 10 + static_cast<unsigned>(s[n++] - '0');
    if (n == 0 || v > 0xffffffffULL) return std::nullopt;
    s.remove_prefix(n);
    return static_cast<std::uint32_t>(v);
}

/// The number right after `key` in `s`.
std::optional<std::uint32_t> number_after(std::string_view s, std::string_view key) noexcept {
    const auto at = s.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    auto rest = s.substr(at + key.size());
    return take_number(rest);
}

std::string cut(std::string_view s, std::size_t max) { return std::string(s.substr(0, max)); }

/// `stack segment: 0000 [#1] ...`: the header arch/x86 die() prints for a trap.
bool die_header(std::string_view t) noexcept {
    std::size_t i = 0;
    while (i < t.size() && ((t[i] >= 'a' && t[i] <= 'z') || t[i] == ' ')) ++i;
    if (i < 3 || t.substr(i, 2) != ": " || t.size() < i + 9) return false;
    for (std::size_t k = i + 2; k < i + 6; ++k) {
        if (!is_hex(t[k])) return false;
    }
    return t.substr(i + 6, 3) == " [#";
}

/// The table's anywhere-needles, looked for in one pass (see needle_set; a `find` each was a
/// third of a replay's time: several begin with a blank). Prefix patterns and the die() header
/// have none.
constexpr std::size_t anywhere_count = [] {
    std::size_t n = 0;
    for (const auto& p : line_patterns) n += !p.prefix && !p.needle.empty() ? 1 : 0;
    return n;
}();
/// The pattern of each anywhere-needle, in table order.
constexpr std::array<std::size_t, anywhere_count> anywhere_pattern = [] {
    std::array<std::size_t, anywhere_count> at{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < line_patterns.size(); ++i) {
        if (!line_patterns[i].prefix && !line_patterns[i].needle.empty()) at[n++] = i;
    }
    return at;
}();
constexpr text::needle_set<anywhere_count> anywhere = [] {
    std::array<std::string_view, anywhere_count> needles{};
    for (std::size_t k = 0; k < anywhere_count; ++k)
        needles[k] = line_patterns[anywhere_pattern[k]].needle;
    return text::needle_set<anywhere_count>(needles);
}();

/// Bit i: pattern i is a prefix pattern whose needle starts with the byte, or the die() header
/// and the byte is a lower-case letter. A line is compared only with the patterns its first
/// byte and its anywhere-needles allow.
constexpr std::array<std::uint32_t, 256> by_first_byte = [] {
    static_assert(line_patterns.size() <= 32);
    std::array<std::uint32_t, 256> table{};
    for (std::size_t i = 0; i < line_patterns.size(); ++i) {
        const auto& p = line_patterns[i];
        if (p.needle.empty()) {
            for (char c = 'a'; c <= 'z'; ++c) table[static_cast<unsigned char>(c)] |= 1U << i;
        } else if (p.prefix) {
            table[static_cast<unsigned char>(p.needle.front())] |= 1U << i;
        }
    }
    return table;
}();

/// Pattern `p` holds for the line; a candidate only (see by_first_byte), so an anywhere-needle
/// was found by the caller's pass.
bool matches(const line_pattern& p, std::string_view text, std::string_view trimmed) noexcept {
    if (p.needle.empty()) return die_header(trimmed);
    if (p.prefix && !trimmed.starts_with(p.needle)) return false;
    return p.also.empty() || text.find(p.also) != std::string_view::npos;
}

/// `comm[pid]: ...` within the first bytes: how the kernel reports a user task (show_signal_msg
/// `segfault at`, `trap ...`, many drivers), with a comm the task chose.
bool task_report(std::string_view t) noexcept {
    const std::size_t limit = std::min<std::size_t>(t.size(), 16 + 12);
    for (std::size_t i = 0; i < limit; ++i) {
        if (t[i] != '[') continue;
        std::size_t k = i + 1;
        while (k < t.size() && is_digit(t[k])) ++k;
        if (k > i + 1 && t.substr(k, 2) == "]:") return true;
        if (k > i + 1 && t.substr(k, 2) == "] ") return true;  // "traps: comm[pid] general ..."
    }
    return false;
}

const line_pattern* match(std::string_view text, std::string_view trimmed) noexcept {
    std::uint32_t candidates =
        trimmed.empty() ? 0 : by_first_byte[static_cast<unsigned char>(trimmed.front())];
    for (auto found = anywhere.found(text); found != 0; found &= found - 1) {
        candidates |= 1U << anywhere_pattern[static_cast<std::size_t>(__builtin_ctzll(found))];
    }
    // In table order: the first match wins.
    for (; candidates != 0; candidates &= candidates - 1) {
        const auto& p = line_patterns[static_cast<std::size_t>(__builtin_ctz(candidates))];
        if (matches(p, text, trimmed)) return &p;
    }
    return nullptr;
}

bool in(kind_set set, incident_kind k) noexcept { return (set & kinds_of(k)) != 0; }

/// Digits and hex numbers → `#`, so that addresses and counts do not split a signature.
std::string normalise(std::string_view s, std::size_t max) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && out.size() < max;) {
        if (is_digit(s[i])) {
            while (i < s.size() && (is_hex(s[i]) || s[i] == 'x')) ++i;
            out += '#';
        } else {
            out += s[i++];
        }
    }
    return out;
}

std::string frame_key(std::string_view function, std::string_view module) {
    std::string k(parse::base_function(function));
    if (!module.empty()) {
        k += '[';
        k += module;
        k += ']';
    }
    return k;
}

std::string make_signature(const incident& f) {
    std::string sig(kind_name(f.kind));
    sig += ':';
    const std::size_t start = sig.size();
    switch (f.kind) {
        case incident_kind::oom_kill:
            sig += normalise(f.victim_comm, 64);
            return sig;
        case incident_kind::panic:
            sig += normalise(f.detail, 96);
            break;
        case incident_kind::hung_task:
            sig += normalise(f.comm, 32);
            break;
        default:
            break;
    }
    std::size_t taken = 0;
    std::string last;
    if (!f.function.empty()) {
        if (sig.size() != start) sig += '<';
        last = frame_key(f.function, f.module);
        sig += last;
        ++taken;
    }
    for (const auto& fr : f.frames) {
        if (taken >= 4) break;
        if (!fr.reliable || fr.function.empty()) continue;
        auto key = frame_key(fr.function, fr.module);
        if (key == last) continue;
        if (sig.size() != start) sig += '<';
        sig += key;
        last = std::move(key);
        ++taken;
    }
    if (sig.size() == start) sig += normalise(f.title, 96);
    return sig;
}

}  // namespace

namespace parse {

std::string_view base_function(std::string_view function) {
    const auto dot = function.find('.', 1);
    return dot == std::string_view::npos ? function : function.substr(0, dot);
}

namespace {

/// `name+0xA/0xB` at the front of `s` (length of the token, or 0).
std::size_t symbol_length(std::string_view s, std::size_t& name_len) noexcept {
    std::size_t i = 0;
    while (i < s.size() && is_name_char(s[i])) ++i;
    name_len = i;
    if (i == 0 || s.substr(i, 3) != "+0x") return 0;
    i += 3;
    const std::size_t h1 = i;
    while (i < s.size() && is_hex(s[i])) ++i;
    if (i == h1 || s.substr(i, 3) != "/0x") return 0;
    i += 3;
    const std::size_t h2 = i;
    while (i < s.size() && is_hex(s[i])) ++i;
    return i == h2 ? 0 : i;
}

std::optional<frame> symbol_at(std::string_view s) {
    std::size_t name_len = 0;
    const std::size_t len = symbol_length(s, name_len);
    if (len == 0) return std::nullopt;
    frame f;
    f.function = std::string(s.substr(0, name_len));
    auto rest = s.substr(len);
    if (rest.substr(0, 2) == " [") {
        const auto close = rest.find(']');
        const auto name = rest.substr(2, close == std::string_view::npos ? 0 : close - 2);
        if (!name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
                return is_name_char(c) || c == '-';
            })) {
            f.module = std::string(name);
        }
    }
    return f;
}

}  // namespace

std::optional<frame> symbol_token(std::string_view text) {
    for (auto at = text.find("+0x"); at != std::string_view::npos; at = text.find("+0x", at + 1)) {
        std::size_t start = at;
        while (start > 0 && is_name_char(text[start - 1])) --start;
        if (start == at) continue;
        if (auto f = symbol_at(text.substr(start))) return f;
    }
    return std::nullopt;
}

std::optional<frame> frame_line(std::string_view text) {
    auto t = ltrim(rtrim(text));
    if (t.empty() || t.front() == '<') return std::nullopt;  // <TASK>, </IRQ>, ...
    std::string address;
    if (t.substr(0, 2) == "[<") {
        const auto close = t.find(">]");
        if (close == std::string_view::npos || close > 2 + 16) return std::nullopt;
        const auto hex = t.substr(2, close - 2);
        if (hex.empty() || !std::all_of(hex.begin(), hex.end(), is_hex)) return std::nullopt;
        address = std::string(hex);
        t = ltrim(t.substr(close + 2));
    }
    bool reliable = true;
    if (t.substr(0, 2) == "? ") {
        reliable = false;
        t = ltrim(t.substr(2));
    }
    if (!t.empty() && t.front() == '(') {
        // arm: `[<c0>] (func+0x1/0x2) from [<c1>] (...)`, 5.x also `(func) from`
        t.remove_prefix(1);
        std::size_t n = 0;
        while (n < t.size() && is_name_char(t[n])) ++n;
        if (n != 0 && n < t.size() && t[n] == ')') {
            frame f;
            f.function = std::string(t.substr(0, n));
            f.address = std::move(address);
            f.reliable = reliable;
            return f;
        }
    }
    if (auto f = symbol_at(t)) {
        f->address = std::move(address);
        f->reliable = reliable;
        return f;
    }
    if (t.substr(0, 2) == "0x" && t.size() > 2 && t.size() <= 18 &&
        std::all_of(t.begin() + 2, t.end(), is_hex)) {
        frame f;
        f.address = std::string(t.substr(2));
        f.reliable = reliable;
        return f;
    }
    if (!address.empty() && t.empty()) {
        frame f;
        f.address = std::move(address);
        f.reliable = reliable;
        return f;
    }
    return std::nullopt;
}

std::optional<std::string> taint(std::string_view text) {
    if (text.find("Not tainted") != std::string_view::npos) return std::string();
    const auto at = text.find("Tainted: ");
    if (at == std::string_view::npos) return std::nullopt;
    std::string flags;
    for (char c : text.substr(at + 9)) {
        if (is_digit(c) || !(is_blank(c) || (c >= 'A' && c <= 'Z'))) break;
        if (!is_blank(c)) flags += c;
        if (flags.size() > 32) break;
    }
    if (!flags.empty() && flags.front() == 'G') flags.erase(0, 1);
    return flags;
}

}  // namespace parse

incident_stage::incident_stage(report_fn report) : incident_stage(std::move(report), limits{}) {}

incident_stage::incident_stage(report_fn report, limits lim, clock_fn now)
    : report_(std::move(report)), limits_(lim), now_(std::move(now)) {}

bool incident_stage::busy() const noexcept {
    if (!open_.empty()) return true;
    return std::any_of(signatures_.begin(), signatures_.end(),
                       [](const auto& e) { return e.second.unreported != 0; });
}

void incident_stage::lost() noexcept {
    for (auto& b : open_) b.facts.partial = true;
}

void incident_stage::feed(const record_view& record, bool already_delivered) {
    if (record.own) return;
    if (record.pstore != pstore_) return;  // the previous boot's log has a stage of its own
    if (record.seq) {
        // Every numbered record counts for the sequence, userspace ones too (they are no gap).
        // A leap the pipeline does not take as lost records (DESIGN: implausible) is none here.
        constexpr std::uint64_t implausible = 1ULL << 32;
        if (last_seq_ && *record.seq > *last_seq_ + 1 && *record.seq - *last_seq_ <= implausible) {
            lost();
        } else if (last_seq_ && *record.seq <= *last_seq_) {
            // A new numbering (another boot in a replayed log): nothing carries over.
            while (!open_.empty()) close(open_.begin(), close_reason::input);
        }
        last_seq_.emplace(*record.seq);  // not a whole copy: see pipeline::on_record
    }
    if (record.facility != 0) return;  // userspace: never part of a block
    // Bounds: a block that never ends is closed by its number of records and its kernel time.
    for (auto it = open_.begin(); it != open_.end();) {
        auto next = std::next(it);
        const auto& f = it->facts;
        const bool too_long = record.ts_usec && f.ts_usec && *record.ts_usec > *f.ts_usec &&
                              *record.ts_usec - *f.ts_usec >
                                  static_cast<std::uint64_t>(limits_.max_span.count()) * 1000000ULL;
        if (++it->seen > it->bound) {
            close(it, close_reason::lines);
        } else if (too_long) {
            close(it, close_reason::time);
        }
        it = next;
    }
    std::string_view text = record.text;
    if (record.single_line) {
        line(text, record, already_delivered, true);
        return;
    }
    for (bool first = true;; first = false) {
        const auto nl = text::find_byte(text, '\n');
        line(text.substr(0, nl), record, already_delivered, first);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

incident_stage::block* incident_stage::owner(const record_view& record) {
    for (auto it = open_.rbegin(); it != open_.rend(); ++it) {
        if (!record.caller.empty() && !it->caller.empty() && it->caller != record.caller) continue;
        return &*it;
    }
    return nullptr;
}

incident_stage::block& incident_stage::open_block(incident_kind kind, std::string_view text,
                                                  const record_view& record,
                                                  bool already_delivered) {
    // The next block of the same kind (from the same task, where the kernel says which) ends
    // the one before; more than max_open at once: the oldest goes.
    for (auto it = open_.begin(); it != open_.end();) {
        auto next = std::next(it);
        if (it->facts.kind == kind &&
            (record.caller.empty() || it->caller.empty() || it->caller == record.caller)) {
            close(it, close_reason::next);
        }
        it = next;
    }
    while (open_.size() >= std::max<std::size_t>(limits_.max_open, 1)) {
        close(open_.begin(), close_reason::next);
    }
    // A panic that a report still waiting for its trace caused (panic_on_warn, "scheduling
    // while atomic" on a kernel that panics): the lines that follow belong to both.
    std::optional<std::uint64_t> companion;
    if (kind == incident_kind::panic) {
        if (const block* o = owner(record); o != nullptr && o->facts.kind != incident_kind::panic &&
                                            o->facts.frames.empty() && !o->in_trace) {
            companion = o->id;
        }
    }
    auto& b = open_.emplace_back();
    b.id = ++next_id_;
    b.companion = companion;
    b.facts.kind = kind;
    b.facts.pstore = pstore_;
    b.facts.first_seq = record.seq;
    b.facts.last_seq = record.seq;
    b.facts.ts_usec = record.ts_usec;
    b.facts.records = 1;
    b.facts.title = cut(rtrim(ltrim(text)), limits_.max_text);
    b.caller = std::string(record.caller);
    b.last_line = now();
    b.delivered = already_delivered;
    b.bound = kind == incident_kind::oom_kill ? limits_.max_records * 40 : limits_.max_records;
    return b;
}

incident_stage::clock::time_point incident_stage::now() const {
    if (now_) return now_();
    // CLOCK_MONOTONIC is steady_clock's; its coarse reading costs a few ns instead of ~25.
    timespec ts{};
    if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) return clock::now();
    return clock::time_point(std::chrono::duration_cast<clock::duration>(
        std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

void incident_stage::line(std::string_view text, const record_view& record, bool already_delivered,
                          bool first_line) {
    const auto trimmed = ltrim(text);
    const line_pattern* p = match(text, trimmed);
    // The kernel's reports are warnings or worse; an info line shaped like a report of a task
    // (`comm[pid]: segfault at ...`, where comm is any 15 bytes a user chooses) starts nothing.
    if (p != nullptr && p->role != line_role::end && record.level >= 6 && task_report(trimmed)) {
        p = nullptr;
    }
    block* own = owner(record);
    const auto attach = [&](block& b) {
        if (first_line) b.facts.records += 1;
        if (record.seq) b.facts.last_seq = record.seq;
        b.last_line = now();
    };
    if (p != nullptr) {
        switch (p->role) {
            case line_role::title:
                if (own != nullptr && own->awaiting_title && in(p->joins, own->facts.kind)) {
                    attach(*own);
                    own->facts.kind = p->kind;
                    own->facts.title = cut(rtrim(trimmed), limits_.max_text);
                    own->awaiting_title = false;
                    parse_fields(*own, text);
                    return;
                }
                break;
            case line_role::join:
                if (own != nullptr && in(p->joins, own->facts.kind) && !own->awaiting_title &&
                    !own->in_trace && own->facts.detail.empty()) {
                    attach(*own);
                    own->facts.detail = cut(rtrim(trimmed), limits_.max_text);
                    own->expects_end_trace = true;
                    return;
                }
                break;
            case line_role::end: {
                for (auto it = open_.end(); it != open_.begin();) {
                    --it;
                    if (!in(p->joins, it->facts.kind)) continue;
                    if (!record.caller.empty() && !it->caller.empty() &&
                        it->caller != record.caller) {
                        continue;
                    }
                    attach(*it);
                    parse_fields(*it, text);
                    const bool closing_delivered = already_delivered;
                    it->delivered = closing_delivered;
                    close(it, close_reason::end);
                    return;
                }
                if (own != nullptr) attach(*own);
                return;  // an end without its block (the block was before a restart)
            }
            case line_role::start:
                break;
        }
        auto& b = open_block(p->kind, text, record, already_delivered);
        if (p->role == line_role::join) b.expects_end_trace = true;
        if (p->kind == incident_kind::warning && p->role == line_role::start) {
            b.awaiting_title = true;
            b.expects_end_trace = true;
        }
        if (p->role == line_role::title && p->kind == incident_kind::bug)
            b.expects_end_trace = true;
        parse_fields(b, text);
        return;
    }
    if (own == nullptr) return;
    attach(*own);
    const bool in_trace = own->in_trace;
    parse_fields(*own, text);
    if (block* other = companion_of(*own)) {
        attach(*other);
        parse_fields(*other, text);
    }
    if (in_trace && !own->expects_end_trace && trimmed.substr(0, 7) == "</TASK>") {
        switch (own->facts.kind) {
            case incident_kind::oom_kill:
            case incident_kind::panic:
            case incident_kind::oops:
                break;  // these have their own end lines
            default:
                for (auto it = open_.begin(); it != open_.end(); ++it) {
                    if (&*it == own) {
                        close(it, close_reason::end);
                        break;
                    }
                }
        }
    }
}

void incident_stage::parse_fields(block& b, std::string_view text) {
    auto& f = b.facts;
    const auto t = rtrim(ltrim(text));
    const auto set_text = [this](std::string& field, std::string_view value) {
        if (field.empty()) field = cut(value, limits_.max_text);
    };
    if (t.substr(0, 5) == "CPU: ") {
        auto rest = t.substr(5);
        if (!f.cpu) f.cpu = take_number(rest);
        if (!f.pid) f.pid = number_after(t, " PID: ");
        const auto c = t.find(" Comm: ");
        if (c != std::string_view::npos && f.comm.empty()) {
            auto comm = t.substr(c + 7);
            auto end = comm.find(" Tainted: ");
            if (end == std::string_view::npos) end = comm.find(" Not tainted");
            set_text(f.comm, comm.substr(0, std::min<std::size_t>(end, 64)));
        }
        if (!f.taint) f.taint = parse::taint(t);
        return;
    }
    if (t.substr(0, 9) == "Tainted: " || t.substr(0, 11) == "Not tainted") {
        if (!f.taint) f.taint = parse::taint(t);
        return;
    }
    if (t.substr(0, 18) == "Modules linked in:") {
        auto rest = t.substr(18);
        while (!rest.empty() && f.modules.size() < limits_.max_modules) {
            rest = ltrim(rest);
            if (rest.empty() || rest.front() == '[') break;
            const auto sp = rest.find(' ');
            auto token = rest.substr(0, sp);
            token = token.substr(0, token.find('('));
            if (!token.empty() && token.size() <= 64) f.modules.emplace_back(token);
            if (sp == std::string_view::npos) break;
            rest.remove_prefix(sp);
        }
        return;
    }
    if (t.substr(0, 15) == "Kernel Offset: ") {
        set_text(f.kernel_offset, t.substr(15));
        return;
    }
    if (t.substr(0, 11) == "Call Trace:" || t == "Call trace:" || t == "Backtrace:") {
        b.in_trace = true;
        return;
    }
    if (b.in_trace) {
        if (auto fr = parse::frame_line(t)) {
            if (f.frames.size() < limits_.max_frames) f.frames.push_back(std::move(*fr));
            return;
        }
        if (t.substr(0, 7) == "</TASK>") {
            b.in_trace = false;  // what follows (an OOM report's memory dump) is no frame
            return;
        }
    }
    // The faulting function: the first kernel-mode instruction pointer (an OOM kill or a
    // hung task has none: a register dump in them is where the task happened to be).
    if (f.function.empty() && f.kind != incident_kind::oom_kill &&
        f.kind != incident_kind::hung_task) {
        std::string_view ip;
        if (t.substr(0, 5) == "RIP: " || t.substr(0, 5) == "EIP: ") {
            ip = t.substr(5);
            if (ip.size() > 5 && ip[4] == ':' && std::all_of(ip.begin(), ip.begin() + 4, is_hex)) {
                const auto cs = ip.substr(0, 4);
                if (cs == "0033" || cs == "0023" || cs == "002b" || cs == "0073")
                    ip = {};
                else
                    ip.remove_prefix(5);
            }
        } else if (t.substr(0, 4) == "IP: " || t.substr(0, 5) == "pc : " ||
                   t.substr(0, 9) == "PC is at " || t.substr(0, 10) == "EIP is at ") {
            ip = t.substr(t.find(' ') + 1);
        }
        if (!ip.empty()) {
            if (auto sym = parse::symbol_token(ip)) {
                f.function = std::move(sym->function);
                f.module = std::move(sym->module);
            }
            return;
        }
    }
    switch (f.kind) {
        case incident_kind::warning:
            if (t.substr(0, 9) == "WARNING: ") {
                if (!f.cpu) f.cpu = number_after(t, "CPU: ");
                if (!f.pid) f.pid = number_after(t, " PID: ");
                const auto at = t.find(" at ");
                if (at != std::string_view::npos) {
                    auto rest = t.substr(at + 4);
                    const auto sp = rest.find(' ');
                    set_text(f.location, rest.substr(0, sp));
                    if (sp != std::string_view::npos && f.function.empty()) {
                        if (auto sym = parse::symbol_token(rest.substr(sp))) {
                            f.function = std::move(sym->function);
                            f.module = std::move(sym->module);
                        }
                    }
                }
            }
            break;
        case incident_kind::bug:
            if (t.substr(0, 14) == "kernel BUG at ") {
                auto loc = t.substr(14);
                if (!loc.empty() && loc.back() == '!') loc.remove_suffix(1);
                set_text(f.location, loc);
            }
            break;
        case incident_kind::hung_task:
            if (const auto blocked = t.find(" blocked for more than ");
                t.substr(0, 11) == "INFO: task " && blocked != std::string_view::npos &&
                !f.blocked_seconds) {
                const auto task = t.substr(11, blocked - 11);
                const auto colon = task.rfind(':');
                if (colon != std::string_view::npos) {
                    set_text(f.comm, task.substr(0, std::min<std::size_t>(colon, 64)));
                    auto pid = task.substr(colon + 1);
                    if (!f.pid) f.pid = take_number(pid);
                }
                auto secs = t.substr(blocked + 23);
                f.blocked_seconds = take_number(secs);
            }
            break;
        case incident_kind::soft_lockup:
            if (const auto cpu = number_after(t, "CPU#"); cpu && !f.cpu) {
                f.cpu = cpu;
                const auto open = t.rfind('[');
                const auto close = t.rfind(']');
                if (open != std::string_view::npos && close != std::string_view::npos &&
                    close > open) {
                    const auto task = t.substr(open + 1, close - open - 1);
                    const auto colon = task.rfind(':');
                    if (colon != std::string_view::npos) {
                        set_text(f.comm, task.substr(0, std::min<std::size_t>(colon, 64)));
                        auto pid = task.substr(colon + 1);
                        f.pid = take_number(pid);
                    }
                }
            }
            break;
        case incident_kind::hard_lockup:
            if (!f.cpu) f.cpu = number_after(t, "LOCKUP on cpu ");
            break;
        case incident_kind::panic:
            if (t.substr(0, 26) == "Kernel panic - not syncing") {
                auto reason = t.substr(26);
                if (!reason.empty() && reason.front() == ':') reason.remove_prefix(1);
                set_text(f.detail, ltrim(reason));
            }
            break;
        case incident_kind::oom_kill: {
            if (const auto at = t.find(" invoked oom-killer: "); at != std::string_view::npos) {
                set_text(f.comm, t.substr(0, std::min<std::size_t>(at, 64)));
            } else if (t.substr(0, 9) == "oom-kill:") {
                const auto task = t.find(",task=");
                if (task != std::string_view::npos && f.victim_comm.empty()) {
                    auto name = t.substr(task + 6);
                    const auto end = name.find(",pid=");
                    if (end != std::string_view::npos) {
                        set_text(f.victim_comm, name.substr(0, std::min<std::size_t>(end, 64)));
                        auto pid = name.substr(end + 5);
                        f.victim_pid = take_number(pid);
                    }
                }
            } else if (const auto k = t.find("Killed process "); k != std::string_view::npos) {
                auto rest = t.substr(k + 15);
                if (const auto pid = take_number(rest)) {
                    f.victim_pid = pid;
                    if (rest.substr(0, 2) == " (") {
                        const auto close = rest.find(") ");
                        auto name = rest.substr(
                            2, close == std::string_view::npos ? rest.size() - 2 : close - 2);
                        if (!name.empty() && name.back() == ')') name.remove_suffix(1);
                        f.victim_comm = cut(name, 64);
                    }
                }
                const auto end = t.find(" total-vm:");
                f.detail = cut(t.substr(0, end), limits_.max_text);
            }
            break;
        }
        default:
            break;
    }
}

incident_stage::block* incident_stage::companion_of(const block& b) {
    if (!b.companion) return nullptr;
    for (auto& o : open_) {
        if (o.id == *b.companion) return &o;
    }
    return nullptr;
}

void incident_stage::close(std::list<block>::iterator it, close_reason why) {
    // The report that caused a panic goes before it.
    if (const block* other = companion_of(*it)) {
        for (auto o = open_.begin(); o != open_.end(); ++o) {
            if (&*o == other) {
                close(o, why);
                break;
            }
        }
    }
    it->facts.closed_by = why;
    // Closed by its end line: reported before if that line was read before a restart. Closed
    // otherwise (the next block, a bound, a stop): reported before if it began before the
    // restart — that run closed it the same way (a block without an end that a kill -9 cut
    // short is not reported: at most once).
    const bool delivered = it->delivered;
    incident facts = std::move(it->facts);
    open_.erase(it);
    emit(facts, delivered);
}

void incident_stage::emit(incident& facts, bool already_delivered) {
    facts.signature = make_signature(facts);
    if (signatures_.size() >= limits_.max_signatures && !signatures_.count(facts.signature)) {
        // Bounded: forget signatures seen once whose report is done.
        for (auto it = signatures_.begin(); it != signatures_.end();) {
            if (it->second.count <= 1 && it->second.unreported == 0) {
                it = signatures_.erase(it);
            } else {
                ++it;
            }
        }
        if (signatures_.size() >= limits_.max_signatures) signatures_.clear();
    }
    auto& e = signatures_[facts.signature];
    facts.count = ++e.count;
    const auto t = now();
    if (already_delivered) {
        // Reported (and counted) before the restart that reads it again.
        e.last_full = t;
        return;
    }
    const auto kind = static_cast<std::size_t>(facts.kind);
    ++counters_.by_kind[kind];
    counters_.last_unix_usec[kind] = std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count();
    if (facts.partial) ++counters_.partial;
    if (e.count == 1 || !e.last_full || t - *e.last_full >= limits_.full_interval) {
        e.last_full = t;
        e.unreported = 0;
        ++counters_.reported;
        if (report_) report_(facts);
        return;
    }
    if (!e.last_report || t - *e.last_report >= limits_.repeat_interval) {
        e.last_report = t;
        e.unreported = 0;
        facts.repeat = true;
        ++counters_.repeats;
        if (report_) report_(facts);
        return;
    }
    ++counters_.suppressed;
    ++e.unreported;
    e.last = facts;
}

void incident_stage::expire() {
    const auto t = now();
    for (auto it = open_.begin(); it != open_.end();) {
        auto next = std::next(it);
        if (t - it->last_line >= limits_.idle) close(it, close_reason::time);
        it = next;
    }
    for (auto& [sig, e] : signatures_) {
        if (e.unreported == 0 || (e.last_report && t - *e.last_report < limits_.repeat_interval)) {
            continue;
        }
        e.last_report = t;
        e.unreported = 0;
        e.last.repeat = true;
        e.last.count = e.count;
        ++counters_.repeats;
        if (report_) report_(e.last);
    }
}

void incident_stage::finish() {
    while (!open_.empty()) close(open_.begin(), close_reason::input);
    for (auto& [sig, e] : signatures_) {
        if (e.unreported == 0) continue;
        e.last_report = now();
        e.unreported = 0;
        e.last.repeat = true;
        e.last.count = e.count;
        ++counters_.repeats;
        if (report_) report_(e.last);
    }
}

}  // namespace klog::incidents
