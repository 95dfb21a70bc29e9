// HTTPS and WSS connections (see bridge_state.h for why this is a file of its own).
#include <boost/beast/ssl.hpp>

#include "web/http_session.h"

namespace wzp::web {

void serve_tls(boost::asio::ip::tcp::socket s, std::shared_ptr<WebBridge::Impl> bridge) {
  using Stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  auto& context = *bridge->tls;
  std::make_shared<detail::HttpSession<Stream>>(
      Stream(boost::beast::tcp_stream(std::move(s)), context), std::move(bridge))
      ->start();
}

}  // namespace wzp::web
