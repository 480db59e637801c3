#include "klog/cursor_file.hpp"

#include "klog/os/os.hpp"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace klog {

namespace {

std::string escape(std::string_view s) {
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f || c == '\\') {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += ch;
        }
    }
    return out;
}

std::optional<std::string> unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        unsigned v = 0;
        if (i + 3 >= s.size() || s[i + 1] != 'x') return std::nullopt;
        const auto [end, ec] = std::from_chars(s.data() + i + 2, s.data() + i + 4, v, 16);
        if (ec != std::errc{} || end != s.data() + i + 4) return std::nullopt;
        out += static_cast<char>(v);
        i += 3;
    }
    return out;
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
}

/// `N` or `none`.
bool parse_seq(std::string_view s, std::optional<std::uint64_t>& out) {
    if (s == "none") {
        out.reset();
        return true;
    }
    std::uint64_t v = 0;
    if (!parse_u64(s, v)) return false;
    out = v;
    return true;
}

std::string seq_text(const std::optional<std::uint64_t>& s) {
    return s ? std::to_string(*s) : std::string("none");
}

}  // namespace

const output_cursor* cursor::find(const std::string& name) const noexcept {
    for (const auto& o : outputs) {
        if (o.name == name) return &o;
    }
    return nullptr;
}

std::optional<cursor> cursor_file::load(std::string& error) const {
    error.clear();
    std::string text;
    std::error_code ec;
    // A state file is a few hundred bytes; more than this is not one.
    os::read_file(path_, text, 1 << 20, ec);
    if (ec) {
        if (ec != std::errc::no_such_file_or_directory) error = os::failure(ec, "read", path_).what();
        return std::nullopt;
    }
    const auto bad = [&] {
        error = path_ + ": not a klogd state file (ignored: the whole ring will be read)";
        return std::nullopt;
    };
    cursor c;
    bool have_boot = false;
    bool have_seq = false;
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        if (line.empty()) continue;
        const auto eq = line.find('=');
        if (eq == std::string::npos) return bad();
        const std::string_view key = line.substr(0, eq);
        const std::string_view value = line.substr(eq + 1);
        if (key == "boot_id") {
            if (value.empty()) return bad();
            c.boot_id = value;
            have_boot = true;
        } else if (key == "seq") {
            if (!parse_seq(value, c.seq)) return bad();
            have_seq = true;
        } else if (key == "clean") {
            c.clean = value == "1";
        } else if (key == "output") {
            auto name = unescape(value);
            if (!name || name->empty()) return bad();
            output_cursor o;
            o.name = std::move(*name);
            c.outputs.push_back(std::move(o));
        } else if (key == "output.seq") {
            if (c.outputs.empty() || !parse_seq(value, c.outputs.back().seq)) return bad();
        } else if (key == "output.acked") {
            std::optional<std::uint64_t> acked;
            if (c.outputs.empty() || !parse_seq(value, acked)) return bad();
            c.outputs.back().acked = acked;
        } else if (key == "output.spool") {
            auto dir = unescape(value);
            if (c.outputs.empty() || !dir) return bad();
            c.outputs.back().spool = std::move(*dir);
        } else if (key == "output.file") {
            if (c.outputs.empty()) return bad();
            sinks::file_position f;
            const auto a = value.find(':');
            const auto b = a == std::string_view::npos ? a : value.find(':', a + 1);
            if (b == std::string_view::npos || !parse_u64(value.substr(0, a), f.device) ||
                !parse_u64(value.substr(a + 1, b - a - 1), f.inode) ||
                !parse_u64(value.substr(b + 1), f.offset)) {
                return bad();
            }
            c.outputs.back().file = f;
        }
        // Unknown keys: from a newer klogd; ignored.
    }
    if (!have_boot || !have_seq) return bad();
    return c;
}

void cursor_file::save(const cursor& c, bool durable) {
    if (last_saved_ == c && (last_durable_ || !durable)) return;
    const std::filesystem::path path(path_);
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    std::string text = "boot_id=" + c.boot_id + "\nseq=" + seq_text(c.seq) + "\n";
    for (const auto& o : c.outputs) {
        text += "output=" + escape(o.name) + "\noutput.seq=" + seq_text(o.seq) + "\n";
        if (!o.spool.empty()) {
            text += "output.acked=" + seq_text(o.acked) + "\noutput.spool=" + escape(o.spool) + "\n";
        }
        if (o.file) {
            text += "output.file=" + std::to_string(o.file->device) + ":" +
                    std::to_string(o.file->inode) + ":" + std::to_string(o.file->offset) + "\n";
        }
    }
    if (c.clean) text += "clean=1\n";
    os::replace_file(path_, text,
                     {.mode = 0644,
                      .durable = durable ? os::durability::file_and_directory : os::durability::none,
                      .temporary = {}});
    last_saved_ = c;
    last_durable_ = durable;
}

std::string cursor_file::current_boot_id() {
    std::string id;
    std::error_code ec;
    os::read_file("/proc/sys/kernel/random/boot_id", id, 128, ec);
    if (ec) return {};
    if (const auto nl = id.find('\n'); nl != std::string::npos) id.resize(nl);
    return id;
}

}  // namespace klog
