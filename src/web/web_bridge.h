// wzp-web: the browser bridge. One HTTP(S) port serves the page (/ROOM and its static files),
// Prometheus /metrics, and a WebSocket per browser at /ws/ROOM. Each WebSocket becomes a full
// participant toward the relay through the client engine: its own identity, a RoomCall
// (handshake, end-to-end sender keys, FEC, adaptive tiers, redial on relay loss) and a
// SignalSession that keeps it registered. Audio between page and bridge: binary messages of
// 960 samples (20 ms at 48 kHz) of 16-bit little-endian mono PCM each way; control: JSON text.
// A browser that sends garbage, wrong sizes or floods is closed with a reason; others carry on.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "proto/prometheus.h"

namespace wzp::web {

struct BridgeConfig {
  boost::asio::ip::tcp::endpoint listen;
  std::string relay;               // HOST:PORT
  std::filesystem::path web_root;  // index.html, app.js, the worklets
  // Third-party files served at /vendor/NAME (the RNNoise WebAssembly build from npm).
  std::map<std::string, std::filesystem::path> vendor;
  std::filesystem::path state_dir;                         // relay pins (known_relays)
  std::optional<std::pair<std::string, std::string>> tls;  // PEM certificate, key
  // Origins (scheme://host[:port]) besides the bridge's own that may open a participant
  // through /ws/. A browser sends its page's origin with every WebSocket handshake; without
  // this check any website a visitor opens could join calls through the visitor's bridge.
  std::vector<std::string> allowed_origins;
  size_t max_sessions = 200;
  double max_messages_per_s = 150;  // 50 audio frames/s plus control, with room for bursts
  // One JSON object per page event: page_join, page_leave, page_closed (a page the bridge cut
  // off, with the reason). None: nothing is logged.
  std::function<void(const std::string&)> log;
};

struct BridgeStats {
  uint64_t connections_total = 0, frames_in = 0, frames_out = 0, control_in = 0;
  uint64_t errors_bad_frame = 0, errors_bad_control = 0, errors_flood = 0, errors_full = 0;
  uint64_t errors_origin = 0;  // WebSocket handshakes from another site's page, refused
  uint64_t http_requests = 0, not_found = 0;
  // Browser frame arrival to the encoder taking it (queue wait), milliseconds.
  proto::LatencyHistogram<6> latency{{5, 10, 20, 40, 80, 160}, 1e-3};
};

class WebBridge {
 public:
  WebBridge(boost::asio::io_context& io, BridgeConfig config);
  ~WebBridge();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  std::string metrics_text() const;
  size_t sessions() const;
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace wzp::web
