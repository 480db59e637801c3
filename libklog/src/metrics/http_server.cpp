#include "klog/metrics/http_server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

#include "klog/metrics/exposition.hpp"

namespace klog::metrics {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct http_server::state : std::enable_shared_from_this<http_server::state> {
    state(asio::io_context& io, const tcp::endpoint& at, body_fn fn, std::size_t max)
        : acceptor(io, at), metrics(std::move(fn)), max_connections(max) {}

    tcp::acceptor acceptor;
    body_fn metrics;
    std::size_t max_connections;
    std::size_t open = 0;
    std::uint64_t served = 0;
    bool closed = false;

    void accept();
};

namespace {

struct session : std::enable_shared_from_this<session> {
    session(tcp::socket s, std::shared_ptr<http_server::state> st)
        : socket(std::move(s)), timer(socket.get_executor()), server(std::move(st)) {}
    ~session() { --server->open; }

    tcp::socket socket;
    asio::steady_timer timer;
    std::shared_ptr<http_server::state> server;
    boost::beast::flat_buffer buffer{8192};
    http::request_parser<http::empty_body> parser;
    http::response<http::string_body> response;

    void start() {
        parser.header_limit(8192);
        parser.body_limit(0);
        timer.expires_after(std::chrono::seconds(10));
        timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) {
                boost::system::error_code ignored;
                self->socket.close(ignored);
            }
        });
        http::async_read(socket, buffer, parser,
                         [self = shared_from_this()](const boost::system::error_code& ec,
                                                     std::size_t) { self->on_read(ec); });
    }

    void on_read(const boost::system::error_code& ec) {
        if (ec) {
            if (ec == http::error::header_limit || ec == http::error::body_limit ||
                ec == http::error::bad_method || ec == http::error::bad_target) {
                respond(http::status::bad_request, "bad request\n", "text/plain");
            } else {
                finish();
            }
            return;
        }
        const auto& req = parser.get();
        const auto target = req.target();
        const auto path = target.substr(0, target.find('?'));
        if (req.method() != http::verb::get) {
            respond(http::status::method_not_allowed, "only GET\n", "text/plain");
        } else if (path == "/metrics") {
            ++server->served;
            respond(http::status::ok, server->metrics(), exposition::content_type);
        } else if (path == "/") {
            respond(http::status::ok,
                    "<html><head><title>klogd</title></head><body><h1>klogd</h1>"
                    "<p><a href=\"/metrics\">Metrics</a></p></body></html>\n",
                    "text/html; charset=utf-8");
        } else {
            respond(http::status::not_found, "not found\n", "text/plain");
        }
    }

    void respond(http::status status, std::string body, std::string_view type) {
        response.version(11);
        response.result(status);
        response.set(http::field::server, "klogd");
        response.set(http::field::content_type, boost::beast::string_view(type.data(), type.size()));
        if (status == http::status::method_not_allowed) response.set(http::field::allow, "GET");
        response.body() = std::move(body);
        response.prepare_payload();
        response.keep_alive(false);
        http::async_write(socket, response,
                          [self = shared_from_this()](const boost::system::error_code&,
                                                      std::size_t) { self->finish(); });
    }

    void finish() {
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        timer.cancel();
    }
};

}  // namespace

void http_server::state::accept() {
    acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec,
                                                      tcp::socket socket) {
        if (self->closed) return;
        if (!ec) {
            if (self->open >= self->max_connections) {
                boost::system::error_code ignored;
                socket.close(ignored);  // bounded: the scraper tries again
            } else {
                ++self->open;
                std::make_shared<session>(std::move(socket), self)->start();
            }
        }
        self->accept();
    });
}

http_server::http_server(asio::io_context& io, const tcp::endpoint& at, body_fn metrics,
                         std::size_t max_connections)
    : state_(std::make_shared<state>(io, at, std::move(metrics), max_connections)) {
    state_->accept();
}

http_server::~http_server() {
    state_->closed = true;
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
}

tcp::endpoint http_server::local_endpoint() const { return state_->acceptor.local_endpoint(); }

std::uint64_t http_server::requests() const noexcept { return state_->served; }

}  // namespace klog::metrics
