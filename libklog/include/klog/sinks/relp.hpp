#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klog::sinks::relp {

// RELP, the Reliable Event Logging Protocol (rsyslog): every message is a transaction
//
//     TXNR SP COMMAND SP DATALEN [SP DATA] LF
//
// that the server answers with `TXNR rsp DATALEN 200 OK`; `0 serverclose 0` from the server
// says it is going away. This part is pure (no I/O): frames to send, and a parser for what the
// server sends, fed byte by byte as it arrives.

/// The largest transaction number; after it the numbering starts at 1 again.
inline constexpr std::uint32_t max_txnr = 999999999;
/// The largest DATA the parser accepts from a server (a response is a status and a few offers).
inline constexpr std::size_t max_response_data = 64 * 1024;

/// Appends one frame to `out`.
void append_frame(std::uint32_t txnr, std::string_view command, std::string_view data,
                  std::string& out);

/// The `open` command's offers: what klogd speaks.
[[nodiscard]] std::string open_offers();

/// One frame from the server.
struct frame {
    std::uint32_t txnr = 0;
    std::string command;  ///< "rsp", "serverclose", ...
    std::string data;
};

/// The most of a server's words (a status's text) klogd repeats.
inline constexpr std::size_t max_status_text = 200;

/// The status at the start of a `rsp`'s data: `200 OK`, `500 reason...`.
struct status {
    int code = 0;
    std::string text;  ///< the server's words up to the first LF: printable ASCII, others '?'
};
/// nullopt when the data does not start with a three-digit code.
[[nodiscard]] std::optional<status> parse_status(std::string_view rsp_data);

/// Splits what the server sends into frames. A frame that breaks the grammar ends the parser
/// for good (`broken()`, with the reason): the connection cannot be trusted after it.
class parser {
  public:
    /// Appends the frames completed by `bytes` to `out`; false once the stream is broken.
    bool feed(std::string_view bytes, std::vector<frame>& out);
    [[nodiscard]] bool broken() const noexcept { return !error_.empty(); }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    void reset() noexcept;

  private:
    enum class state { txnr, command, datalen, data, trailer };
    bool fail(std::string why);

    state state_ = state::txnr;
    std::string digits_;
    frame current_;
    std::size_t datalen_ = 0;
    std::string error_;
};

}  // namespace klog::sinks::relp
