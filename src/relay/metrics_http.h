// A minimal HTTP server for the Prometheus text exposition: GET /metrics answers with the
// body the callback renders; anything else is 404. One request per connection, on the
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
              std::function<std::string()> render);
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void stop();

 private:
  void accept();
  boost::asio::ip::tcp::acceptor acceptor_;
  std::function<std::string()> render_;
};

}  // namespace wzp::relay
