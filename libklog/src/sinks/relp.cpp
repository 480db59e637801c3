#include "klog/sinks/relp.hpp"

#include <algorithm>
#include <charconv>


namespace klog::sinks::relp {

void append_frame(std::uint32_t txnr, std::string_view command, std::string_view data,
                  std::string& out) {
    out += std::to_string(txnr);
    out += ' ';
    out += command;
    out += ' ';
    out += std::to_string(data.size());
    if (!data.empty()) {
        out += ' ';
        out += data;
    }
    out += '\n';
}

std::string open_offers() {
    return std::string("relp_version=0\nrelp_software=klogd,") + KLOG_VERSION +
           "\ncommands=syslog";
}

std::optional<status> parse_status(std::string_view data) {
    if (data.size() < 3) return std::nullopt;
    int code = 0;
    const auto [end, ec] = std::from_chars(data.data(), data.data() + 3, code);
    if (ec != std::errc{} || end != data.data() + 3 || code < 100) return std::nullopt;
    status s;
    s.code = code;
    auto rest = data.substr(3);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    // The server's words go into klogd's own messages: printable ASCII only, and not a page.
    rest = rest.substr(0, std::min(rest.find('\n'), max_status_text));
    s.text.reserve(rest.size());
    for (const char c : rest) s.text += c >= ' ' && c <= '~' ? c : '?';
    return s;
}

bool parser::fail(std::string why) {
    error_ = std::move(why);
    return false;
}

void parser::reset() noexcept {
    state_ = state::txnr;
    digits_.clear();
    current_ = frame{};
    datalen_ = 0;
    error_.clear();
}

bool parser::feed(std::string_view bytes, std::vector<frame>& out) {
    if (broken()) return false;
    std::size_t i = 0;
    while (i < bytes.size()) {
        const char c = bytes[i];
        switch (state_) {
            case state::txnr:
            case state::datalen: {
                if (c >= '0' && c <= '9') {
                    if (digits_.size() >= 9) {
                        return fail(state_ == state::txnr ? "transaction number too long"
                                                          : "data length too long");
                    }
                    digits_ += c;
                    ++i;
                    break;
                }
                if (digits_.empty()) {
                    return fail(state_ == state::txnr ? "no transaction number"
                                                      : "no data length");
                }
                std::uint32_t value = 0;
                std::from_chars(digits_.data(), digits_.data() + digits_.size(), value);
                digits_.clear();
                if (state_ == state::txnr) {
                    if (c != ' ') return fail("no space after the transaction number");
                    current_.txnr = value;
                    state_ = state::command;
                    ++i;
                    break;
                }
                if (value > max_response_data) return fail("data length too large");
                datalen_ = value;
                if (c == '\n' && datalen_ == 0) {  // DATALEN 0: no SP DATA
                    out.push_back(std::move(current_));
                    current_ = frame{};
                    state_ = state::txnr;
                    ++i;
                    break;
                }
                if (c != ' ') return fail("no space after the data length");
                state_ = datalen_ == 0 ? state::trailer : state::data;
                ++i;
                break;
            }
            case state::command:
                if (c >= 'a' && c <= 'z') {
                    if (current_.command.size() >= 32) return fail("command too long");
                    current_.command += c;
                    ++i;
                    break;
                }
                if (c != ' ' || current_.command.empty()) return fail("not a command");
                state_ = state::datalen;
                ++i;
                break;
            case state::data: {
                const auto take = std::min(datalen_ - current_.data.size(), bytes.size() - i);
                current_.data.append(bytes.substr(i, take));
                i += take;
                if (current_.data.size() == datalen_) state_ = state::trailer;
                break;
            }
            case state::trailer:
                if (c != '\n') return fail("no newline after the data");
                out.push_back(std::move(current_));
                current_ = frame{};
                state_ = state::txnr;
                ++i;
                break;
        }
    }
    return true;
}

}  // namespace klog::sinks::relp
