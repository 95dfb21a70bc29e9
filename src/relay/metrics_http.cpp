#include "relay/metrics_http.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace wzp::relay {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Exchange : std::enable_shared_from_this<Exchange> {
  tcp::socket socket;
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  std::function<std::string()>& render;
  std::function<std::string()>& health;
  Exchange(tcp::socket s, std::function<std::string()>& r, std::function<std::string()>& h)
      : socket(std::move(s)), render(r), health(h) {}
  void start() {
    auto self = shared_from_this();
    http::async_read(socket, buffer, req, [self](boost::beast::error_code ec, std::size_t) {
      if (ec) return;
      self->respond();
    });
  }
  void respond() {
    res.version(req.version());
    res.keep_alive(false);
    if (req.method() == http::verb::get && req.target() == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = render();
    } else if (req.method() == http::verb::get && req.target() == "/healthz") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "application/json");
      res.body() = health();
    } else {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "text/plain");
      res.body() = "only /metrics and /healthz here\n";
    }
    res.prepare_payload();
    auto self = shared_from_this();
    http::async_write(socket, res, [self](boost::beast::error_code, std::size_t) {
      boost::beast::error_code ec;
      self->socket.shutdown(tcp::socket::shutdown_send, ec);
    });
  }
};

}  // namespace

MetricsHttp::MetricsHttp(asio::io_context& io, const tcp::endpoint& listen,
                         std::function<std::string()> render, std::function<std::string()> health)
    : acceptor_(io, listen), render_(std::move(render)), health_(std::move(health)) {
  accept();
}

void MetricsHttp::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void MetricsHttp::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Exchange>(std::move(socket), render_, health_)->start();
    accept();
  });
}

}  // namespace wzp::relay
