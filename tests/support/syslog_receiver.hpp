#pragma once

// Real syslog receivers for the network tests: a private rsyslogd (Debian package), a private
// syslog-ng (unpacked by tests/support/unpack-syslog-ng.sh, which make test runs), and a
// plain TCP capture process that a test can SIGKILL and restart.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace klog_test {

/// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
std::uint16_t free_port(bool udp = false);
/// A socket of `type` (SOCK_DGRAM, SOCK_STREAM) bound to 127.0.0.1 on a port of the system's
/// choice, stored in `port`; the caller closes it.
int bound_loopback_socket(int type, std::uint16_t& port);

/// A process started in the background with its output in `log_path`; SIGKILL'd and reaped by
/// the destructor if still running.
class child_process {
  public:
    child_process(const std::vector<std::string>& argv, const std::string& log_path,
                  const std::vector<std::string>& env = {});
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// Sends `signo` and waits at most `timeout` for the exit; returns the status or -1.
    int stop(int signo, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    [[nodiscard]] bool running();

  private:
    pid_t pid_ = -1;
    int status_ = -1;
};

/// A throwaway CA and a server certificate for localhost / 127.0.0.1 / ::1 (openssl command).
struct test_pki {
    std::string ca;    ///< CA certificate (PEM)
    std::string cert;  ///< server certificate signed by the CA
    std::string key;   ///< server key
};
test_pki make_test_pki(const std::string& dir);

/// One message as a receiver stored it: `INPUT|FACILITY|TAG|PROGRAM|MSG<<END>>\n`.
struct received_message {
    std::string input;
    std::string facility;
    std::string tag;
    std::string program;
    std::string msg;  ///< bytes exactly as received (newlines, non-ASCII)
};
std::vector<received_message> parse_received(const std::string& path);

/// rsyslogd -n with a private configuration in `dir`: imuxsock on a private socket, imudp,
/// imtcp and imtcp+TLS (rsyslog-openssl, anonymous clients) on free 127.0.0.1 ports. Every
/// message lands in `output()`; control characters are not escaped on receive.
class rsyslog_receiver {
  public:
    rsyslog_receiver(const std::string& dir, const test_pki& pki);
    [[nodiscard]] const std::string& socket_path() const noexcept { return socket_; }
    [[nodiscard]] std::uint16_t udp_port() const noexcept { return udp_port_; }
    [[nodiscard]] std::uint16_t tcp_port() const noexcept { return tcp_port_; }
    [[nodiscard]] std::uint16_t tls_port() const noexcept { return tls_port_; }
    [[nodiscard]] const std::string& output() const noexcept { return output_; }
    [[nodiscard]] std::string log() const;

  private:
    std::string socket_;
    std::string output_;
    std::string log_;
    std::uint16_t udp_port_ = 0;
    std::uint16_t tcp_port_ = 0;
    std::uint16_t tls_port_ = 0;
    std::unique_ptr<child_process> process_;
};

/// rsyslogd -n with imrelp (Debian's rsyslog-relp) on a free 127.0.0.1 port — plain, or TLS
/// with the test PKI's server certificate — and a direct ruleset queue: each message is in
/// `output()` (`INPUT|FACILITY|TAG|PROGRAM|MSG<<END>>`) before rsyslog answers 200 for it.
/// kill() is SIGKILL (a crash); start() starts it again on the same port, appending.
class rsyslog_relp_receiver {
  public:
    rsyslog_relp_receiver(const std::string& dir, const test_pki* tls);
    ~rsyslog_relp_receiver();
    rsyslog_relp_receiver(const rsyslog_relp_receiver&) = delete;
    rsyslog_relp_receiver& operator=(const rsyslog_relp_receiver&) = delete;
    void start();
    void kill();
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] const std::string& output() const noexcept { return output_; }
    [[nodiscard]] std::string log() const;

  private:
    std::string dir_;
    std::string conf_;
    std::string output_;
    std::string log_;
    std::uint16_t port_ = 0;
    std::unique_ptr<child_process> process_;
};

/// syslog-ng -F with a private configuration: a syslog() source (RFC 5424 over TCP, octet
/// counting) on a free 127.0.0.1 port writing `INPUT|FACILITY|PROGRAM|PROGRAM|MSG<<END>>`.
/// Uses the Debian packages that tests/support/unpack-syslog-ng.sh unpacked in
/// KLOGD_TEST_SYSLOG_NG_DIR (syslog-ng-core conflicts with rsyslog as an installed package);
/// fails the test with a message naming that script if they are not there.
class syslog_ng_receiver {
  public:
    explicit syslog_ng_receiver(const std::string& dir);
    [[nodiscard]] std::uint16_t tcp_port() const noexcept { return tcp_port_; }
    [[nodiscard]] const std::string& output() const noexcept { return output_; }
    [[nodiscard]] std::string log() const;

  private:
    std::string output_;
    std::string log_;
    std::uint16_t tcp_port_ = 0;
    std::unique_ptr<child_process> process_;
};

/// A forked TCP receiver on 127.0.0.1:`port` writing the bytes of each connection, as they are
/// read, to `dir`/conn-<start>-<n>. kill() is SIGKILL (a crash); start() listens again.
class tcp_capture {
  public:
    tcp_capture(std::string dir, std::uint16_t port);
    ~tcp_capture();
    tcp_capture(const tcp_capture&) = delete;
    tcp_capture& operator=(const tcp_capture&) = delete;
    /// Listens again. `read_delay` between reads of at most `read_size` bytes and a receive
    /// buffer of `rcvbuf` bytes (0: the system's) make a slow collector.
    void start(std::chrono::microseconds read_delay = {}, std::size_t read_size = 65536,
               int rcvbuf = 0);
    void kill();
    /// The octet-counted frames of every connection, oldest connection first; a frame cut
    /// off at the end of a connection is left out.
    [[nodiscard]] std::vector<std::string> frames() const;

  private:
    std::string dir_;
    std::uint16_t port_;
    pid_t pid_ = -1;
    int starts_ = 0;
};

/// A forked TLS receiver (OpenSSL) on 127.0.0.1:`port` with the test PKI's server certificate:
/// after each handshake it waits `read_delay` before reading (a collector slow to start), then
/// writes the decrypted bytes of the connection to `dir`/conn-<start>-<n>.
class tls_capture {
  public:
    tls_capture(std::string dir, std::uint16_t port, test_pki pki,
                std::chrono::milliseconds read_delay = {});
    ~tls_capture();
    tls_capture(const tls_capture&) = delete;
    tls_capture& operator=(const tls_capture&) = delete;
    void start();
    void kill();
    [[nodiscard]] std::vector<std::string> frames() const;

  private:
    std::string dir_;
    std::uint16_t port_;
    test_pki pki_;
    std::chrono::milliseconds read_delay_;
    pid_t pid_ = -1;
    int starts_ = 0;
};

/// The octet-counted frames in the files conn-* of `dir`, oldest connection first; a frame cut
/// off at the end of a connection is left out.
std::vector<std::string> octet_frames_in(const std::string& dir);

/// Connecting to 127.0.0.1:`port` succeeds (TCP).
bool tcp_port_open(std::uint16_t port);

}  // namespace klog_test
