#include "klog/metrics/rule_set.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>

namespace klog::metrics {

namespace {

constexpr std::array<std::string_view, 8> level_names{"emerg", "alert",  "crit", "err",
                                                       "warning", "notice", "info", "debug"};
constexpr std::array<std::string_view, 24> facility_names{
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",  "ntp",    "security", "console", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::optional<unsigned> number(std::string_view s, unsigned max) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v > max) return std::nullopt;
    return v;
}

std::optional<std::uint8_t> level_of(std::string_view s) {
    if (auto n = number(s, 7)) return static_cast<std::uint8_t>(*n);
    for (std::size_t i = 0; i < level_names.size(); ++i) {
        if (s == level_names[i]) return static_cast<std::uint8_t>(i);
    }
    if (s == "warn") return 4;
    if (s == "error") return 3;
    return std::nullopt;
}

bool valid_name(std::string_view s) {
    return !s.empty() && s.size() <= 64 && !(s[0] >= '0' && s[0] <= '9') &&
           std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_';
           });
}

}  // namespace

rule_set rule_set::parse(std::string_view text, const std::string& file) {
    rule_set set;
    std::size_t line_no = 0;
    const auto fail = [&](const std::string& why) -> void {
        throw rule_error(file + ":" + std::to_string(line_no) + ": " + why);
    };
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (line.find('\0') != std::string_view::npos) fail("a NUL byte: not a rule file");
        line = trim(line);
        if (line.empty() || line.front() == '#' || line.front() == ';') continue;
        if (line.front() == '[') {
            if (line.back() != ']') fail("a section line must end with ']'");
            const auto name = trim(line.substr(1, line.size() - 2));
            if (!valid_name(name)) {
                fail("a rule name is 1 to 64 letters, digits and '_', not starting with a digit");
            }
            for (const auto& r : set.rules_) {
                if (r.name == name) fail("rule [" + std::string(name) + "] is defined twice");
            }
            if (set.rules_.size() >= 1000) fail("more than 1000 rules");
            set.rules_.emplace_back().name = std::string(name);
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) fail("expected '[name]' or 'key = value'");
        const auto key = trim(line.substr(0, eq));
        const auto value = trim(line.substr(eq + 1));
        if (set.rules_.empty()) fail("'" + std::string(valid_name(key) ? key : "key") +
                                     "' before the first [rule]");
        auto& r = set.rules_.back();
        if (key == "text") {
            if (value.empty()) fail("text: empty regex");
            if (value.size() > 1024) fail("text: regex longer than 1024 bytes");
            try {
                r.text.emplace(std::string(value), std::regex::ECMAScript | std::regex::optimize);
            } catch (const std::regex_error& e) {
                fail(std::string("text: not an ECMAScript regex (") + e.what() + ")");
            }
            r.text_source = std::string(value);
        } else if (key == "level") {
            const auto dots = value.find("..");
            const auto a = level_of(trim(value.substr(0, dots)));
            const auto b = dots == std::string_view::npos ? a : level_of(trim(value.substr(dots + 2)));
            if (!a || !b) fail("level: a level (0..7, emerg..debug) or a range LOW..HIGH");
            r.level_min = std::min(*a, *b);
            r.level_max = std::max(*a, *b);
        } else if (key == "facility") {
            std::optional<unsigned> f = number(value, 255);
            for (std::size_t i = 0; !f && i < facility_names.size(); ++i) {
                if (value == facility_names[i]) f = static_cast<unsigned>(i);
            }
            if (!f) fail("facility: a name (kern, user, daemon, ...) or 0..255");
            r.facility = static_cast<std::uint8_t>(*f);
        } else if (key == "subsystem" || key == "device") {
            if (value.empty()) fail(std::string(key) + ": empty value");
            (key == "subsystem" ? r.subsystem : r.device) = std::string(value);
        } else if (key == "condition") {
            const auto n = number(value, 30 * 86400);
            if (!n || *n == 0) fail("condition: the quiet period that clears it, 1 to 2592000 seconds");
            r.condition = std::chrono::seconds(*n);
        } else {
            fail("unknown key (text, level, facility, subsystem, device, condition)");
        }
    }
    if (set.rules_.empty()) {
        line_no = std::max<std::size_t>(line_no, 1);
        fail("no [rule] in the file");
    }
    return set;
}

rule_set rule_set::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw rule_error(path + ": cannot be read");
    std::string text;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        text.append(buf, static_cast<std::size_t>(in.gcount()));
        if (text.size() > (1U << 20)) throw rule_error(path + ": larger than 1 MiB: not a rule file");
    }
    return parse(text, path);
}

void rule_set::match(const record_view& record, clock::time_point now) {
    if (record.own) return;
    const std::string_view text = record.text.substr(0, max_text);
    for (auto& r : rules_) {
        if (record.level < r.level_min || record.level > r.level_max) continue;
        if (r.facility && record.facility != *r.facility) continue;
        if (r.subsystem && record.dictionary.find("SUBSYSTEM") != std::optional<std::string_view>(*r.subsystem)) continue;
        if (r.device && record.dictionary.find("DEVICE") != std::optional<std::string_view>(*r.device)) continue;
        if (r.text && !std::regex_search(text.begin(), text.end(), *r.text)) continue;
        ++r.matches;
        r.last_match = now;
    }
}

bool rule_set::condition_set(const rule& r, clock::time_point now) const {
    return r.condition && r.last_match && now - *r.last_match < *r.condition;
}

}  // namespace klog::metrics
