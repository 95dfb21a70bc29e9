// Plain HTTP and WebSocket connections (see bridge_state.h for why this is a file of its own).
#include "web/http_session.h"

namespace wzp::web {

void serve_plain(boost::asio::ip::tcp::socket s, std::shared_ptr<WebBridge::Impl> bridge) {
  using Stream = boost::beast::tcp_stream;
  std::make_shared<detail::HttpSession<Stream>>(Stream(std::move(s)), std::move(bridge))->start();
}

}  // namespace wzp::web
