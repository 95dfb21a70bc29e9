// What the bridge's pieces share (private to src/web): its state, the page's frame size, and
// the two ways a browser's connection is served. Plain and TLS connections are served from
// translation units of their own (serve_plain.cpp, serve_tls.cpp): each instantiates Beast's
// HTTP and WebSocket code for one stream type, which is most of the bridge's build time.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "transport/asio_scheduler.h"
#include "transport/tls_identity.h"
#include "web/web_bridge.h"

namespace wzp::web {

constexpr size_t kFrameSamples = 960;  // 20 ms at 48 kHz, each way
constexpr size_t kFrameBytes = kFrameSamples * 2;

// The bridge's shared state; sessions hold a shared_ptr so it outlives them.
struct WebBridge::Impl : std::enable_shared_from_this<Impl> {
  boost::asio::io_context& io;
  BridgeConfig config;
  boost::asio::ip::tcp::acceptor acceptor;
  std::optional<boost::asio::ssl::context> tls;
  BridgeStats stats;
  size_t live = 0;
  transport::KnownRelays known;
  transport::AsioScheduler scheduler;
  bool stopped = false;

  Impl(boost::asio::io_context& i, BridgeConfig c);
  void accept();
  bool pin(const std::string& relay, const std::string& fp) {
    return transport::KnownRelays::trusted(known.check(relay, fp));
  }
  static std::string metrics(const Impl& b);
};

// An accepted connection: HTTP (the page, its files, /metrics) and the upgrade to a WebSocket.
void serve_plain(boost::asio::ip::tcp::socket s, std::shared_ptr<WebBridge::Impl> bridge);
void serve_tls(boost::asio::ip::tcp::socket s, std::shared_ptr<WebBridge::Impl> bridge);

// The Content-Type of a file served from the web root.
std::string content_type(const std::filesystem::path& p);

}  // namespace wzp::web
