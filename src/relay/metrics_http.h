// A minimal HTTP server for the Prometheus text exposition and a health check: GET /metrics
// answers with the body `render` makes, GET /healthz with the JSON `health` makes (200: the
// relay's event loop answered); anything else is 404. One request per connection, on the
// io_context's thread (Boost.Beast).
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <string>

namespace wzp::relay {

class MetricsHttp {
 public:
  MetricsHttp(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& listen,
              std::function<std::string()> render, std::function<std::string()> health);
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void stop();

 private:
  void accept();
  boost::asio::ip::tcp::acceptor acceptor_;
  std::function<std::string()> render_, health_;
};

}  // namespace wzp::relay
