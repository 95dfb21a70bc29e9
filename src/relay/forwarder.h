// Forward mode (wzp-relay --remote ADDR): this relay runs no rooms of its own; every client
// connection becomes a pipe to the remote relay, opened with the client's own SNI (so the room
// is the same) and announced by a FederationHello. Signalling bytes and datagrams pass through
// unchanged both ways, so the client's handshake, sender keys and media are between the client
// and the rooms of the far relay: end-to-end encryption holds across the chain, and this hop
// can read nothing. The far relay batches media toward the pipe into trunk frames.
//
// What this hop still does: session limits, the per-source rate limit with cut-off, metrics,
// and pinning the remote relay's certificate (trust on first use).
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "relay/rate_limit.h"
#include "transport/asio_scheduler.h"
#include "transport/endpoint.h"
#include "transport/quic.h"

namespace wzp::relay {

struct ForwarderConfig {
  boost::asio::ip::udp::endpoint remote;
  // Set (a host name, transport::peer_of): looked up at start and again (in the background)
  // when a pipe opens more than 10 s after the last lookup; pipes use the newest answer.
  std::optional<transport::Address> remote_name;
  std::string relay_id;  // our identity's fingerprint, for the FederationHello
  // Decides on the remote relay's certificate fingerprint (pinning); null accepts any.
  std::function<bool(const std::string&)> verify_remote;
  size_t max_sessions = 1000;
  RateLimit rate;
  std::function<void(const std::string&)> log;  // one JSON line per pipe event; none when empty
};

struct ForwarderStats {
  uint64_t pipes_opened = 0, upstream_failures = 0, cut_off = 0;
  uint64_t datagrams_up = 0, datagrams_down = 0, bytes_up = 0, bytes_down = 0;
  uint64_t dropped_rate = 0, dropped_send = 0;
  uint64_t signal_bytes_up = 0, signal_bytes_down = 0;
};

class Forwarder : public transport::QuicEvents {
 public:
  Forwarder(boost::asio::io_context& io, ForwarderConfig config);
  ~Forwarder() override;

  void on_established(transport::QuicConnection& c) override;
  void on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_closed(transport::QuicConnection& c, const std::string& reason) override;

  // A pipe for `c` to `remote`, whose certificate `verify` decides on (null accepts any): what
  // on_established does with the configured remote, and what the cluster router does with a
  // room's home relay. False (and `c` closed) when the relay already pipes its most.
  bool open(transport::QuicConnection& c, const boost::asio::ip::udp::endpoint& remote,
            std::function<bool(const std::string&)> verify);
  bool piped(const transport::QuicConnection& c) const {
    return pipes_.count(const_cast<transport::QuicConnection*>(&c)) > 0;
  }

  void shutdown(const std::string& reason);
  size_t sessions() const { return pipes_.size(); }
  // At a reload (SIGHUP): the bounds for pipes opened and datagrams piped from now on.
  void set_limits(size_t max_sessions, RateLimit rate) {
    config_.max_sessions = max_sessions;
    config_.rate = rate;
  }
  const ForwarderStats& stats() const { return stats_; }
  // `alone`: the forward-mode relay's whole /metrics; otherwise (beside the rooms' own
  // families, in a cluster) only the wzp_relay_forward_* families.
  std::string metrics_text(bool alone = true) const;

 private:
  struct Pipe;
  void log(const char* event, const Pipe& p, const std::string& reason);
  void drop(transport::QuicConnection* down);
  void look_up_remote();  // in the background; pipes opened meanwhile use the last answer

  boost::asio::io_context& io_;
  transport::AsioScheduler clock_;  // the time, as the relay's logic reads it
  ForwarderConfig config_;
  std::map<transport::QuicConnection*, std::unique_ptr<Pipe>> pipes_;
  ForwarderStats stats_;
  uint64_t last_serial_ = 0;
  bool looking_up_ = false, remote_known_ = false;
  std::optional<uint64_t> looked_up_ms_;  // the last lookup's start (clock_)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wzp::relay
