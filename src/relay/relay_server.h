// The relay on QUIC: each connection is a QuicPeer of the relay's logic (relay.h), which runs
// on the io_context's clock. What this adds to the logic is the transport: the peers, and the
// time each media datagram takes from arrival to its last copy handed to QUIC.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <map>
#include <memory>
#include <vector>

#include "relay/relay.h"
#include "transport/asio_scheduler.h"
#include "transport/quic.h"

namespace wzp::relay {

// A QUIC connection as the relay's logic sees it.
class QuicPeer final : public Peer {
 public:
  explicit QuicPeer(transport::QuicConnection& c) : conn_(c) {}
  bool send_datagram(std::span<const uint8_t> d) override { return conn_.send_datagram(d); }
  void send_signal(const proto::SignalMessage& msg) override;
  void send_probe_train(uint8_t tag, size_t bytes) override { conn_.send_probe_train(tag, bytes); }
  void close(const std::string& reason) override { conn_.close(reason); }
  transport::QuicStats stats() const override { return conn_.stats(); }

 private:
  transport::QuicConnection& conn_;
};

class RelayServer : public transport::QuicEvents {
 public:
  RelayServer(boost::asio::io_context& io, const crypto::Identity& identity,
              RelayConfig config = {});
  ~RelayServer() override;

  // QuicEvents, called by the transport for every connection.
  void on_established(transport::QuicConnection& c) override;
  void on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_closed(transport::QuicConnection& c, const std::string& reason) override;
  void on_narrow_path(transport::QuicConnection& c) override;

  // The same events for a peer that is not a connection of this thread's server: one held by
  // another worker thread (workers.h). The caller owns `p` and keeps it valid until
  // peer_closed(p) has returned and the next event has begun.
  void peer_connected(Peer& p, const std::string& sni, const std::string& from) {
    relay_.connected(p, sni, from);
  }
  void peer_datagram(Peer& p, std::span<const uint8_t> d);
  void peer_stream(Peer& p, std::span<const uint8_t> d) { relay_.stream(p, d); }
  void peer_narrow_path(Peer& p) { relay_.narrow_path(p); }
  void peer_closed(Peer& p) { relay_.closed(p); }
  // A datagram from a connection of no session (closed meanwhile), counted as such.
  void stray_datagram();

  void set_room_acls(const std::map<std::string, std::set<std::string>>& acls) {
    relay_.set_room_acls(acls);
  }
  void set_limits(size_t max_sessions, size_t max_participants_per_room, RateLimit rate,
                  std::chrono::milliseconds idle_timeout) {
    relay_.set_limits(max_sessions, max_participants_per_room, rate, idle_timeout);
  }
  void set_authorizer(Authorizer authorize) { relay_.set_authorizer(std::move(authorize)); }
  void shutdown(const std::string& reason) { relay_.shutdown(reason); }
  const RelayStats& stats() const { return relay_.stats(); }
  size_t sessions() const { return relay_.sessions(); }
  std::string metrics_text() const { return relay_.metrics_text(); }
  size_t members(const std::string& room_sni) const { return relay_.members(room_sni); }
  DirectoryLoad directory_load() const { return relay_.directory_load(); }
  bool local_only(const std::string& sni) const { return relay_.local_only(sni); }
  uint64_t wall_ms() const { return relay_.wall_ms(); }
  DirectCalls& direct_calls() { return relay_.direct_calls(); }
  proto::Scheduler& scheduler() { return scheduler_; }
  Relay& logic() { return relay_; }

 private:
  Peer* peer_of(transport::QuicConnection& c);

  transport::AsioScheduler scheduler_;
  Relay relay_;
  std::map<transport::QuicConnection*, std::unique_ptr<QuicPeer>> peers_;
  // Peers closed during the current callback, freed at the next one (see Relay::graveyard_).
  std::vector<std::unique_ptr<QuicPeer>> closed_;
};

}  // namespace wzp::relay
