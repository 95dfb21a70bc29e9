// Probes (wzp-relay --probe ADDR, repeatable): a QUIC connection to each peer relay, announced
// with a FederationHello, carrying one probe datagram per second that the peer reflects. Per
// peer: round-trip time, jitter (RFC 3550's smoothed |difference| of successive RTTs) and loss
// over the last minute; exported as metrics. A peer that drops off is dialled again every 5 s.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "transport/endpoint.h"
#include "transport/quic.h"

namespace wzp::relay {

struct ProbeTarget {
  std::string label;                        // as given on the command line, the metrics' peer label
  boost::asio::ip::udp::endpoint endpoint;  // the last address the name resolved to
  std::function<bool(const std::string&)> verify;  // the peer's certificate (pinning); null: any
  std::optional<transport::Address> name;          // set: looked up again before every dial
};

struct ProbeStats {
  bool up = false;
  uint64_t sent = 0, answered = 0;
  double rtt_ms = 0, jitter_ms = 0;
  double loss = 0;  // lost / decided over the window (a probe is lost after 2 s unanswered)
};

class Prober {
 public:
  Prober(boost::asio::io_context& io, std::vector<ProbeTarget> peers, std::string relay_id,
         std::chrono::milliseconds interval = std::chrono::seconds(1));
  ~Prober();
  void stop();
  const ProbeStats& stats(size_t peer) const;
  std::string metrics_text() const;

 private:
  struct Peer;
  void tick();
  void dial(Peer& p);     // looks the name up first, when the peer has one
  void connect(Peer& p);  // a fresh probe connection to p.target.endpoint

  boost::asio::io_context& io_;
  std::string relay_id_;
  std::chrono::milliseconds interval_;
  std::vector<std::unique_ptr<Peer>> peers_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for lookups still running
};

}  // namespace wzp::relay
