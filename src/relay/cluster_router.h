// Rooms that span relays: each room has one home relay in the cluster directory (directory.h,
// RelayAt), and the other relays pipe their members of it there, as forward mode pipes every
// client (forwarder.h): opaque bytes both ways, so end-to-end encryption and the members'
// handshakes hold across the hop. A room lives whole on its home (LiveKit's model: a room fits
// one node); the relay a member reached is its way in.
//
// A new connection waits for its first signalling frame: another relay's pipe or prober (it
// opens with FederationHello) is served here, and so are the rooms that belong to this relay
// alone (the echo room, presence, a direct call's private room); for any other room the home
// is looked up (or claimed) in Redis and the connection served here or piped there. Redis away:
// served here (the room may split; it mends as members rejoin). What waits is bounded: one
// frame of stream bytes, and datagrams before the decision are dropped and counted.
//
// A home relay that dies sends no close, and a pipe to it would wait for QUIC's idle timeout:
// so every half second the router asks the directory whether each relay it pipes to is still
// listed, and closes the pipes to one that has lapsed. Their members redial at once and the
// first of them claims a new home.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/signal_framing.h"
#include "relay/direct_calls.h"
#include "relay/directory.h"
#include "relay/forwarder.h"
#include "relay/relay_server.h"
#include "transport/quic.h"

namespace wzp::relay {

struct ClusterRouterStats {
  uint64_t here = 0, piped = 0, undecided_dropped = 0, lookups_failed = 0;
  uint64_t homes_lost = 0;  // piped connections closed because their home relay lapsed
};

// Direct calls to fingerprints registered on other relays (direct_calls.h): the calls' messages
// go between the relays' inboxes in the directory.
void link_calls_abroad(DirectCalls& calls, Directory& directory,
                       std::function<void(const std::string&)> log = {});

class ClusterRouter : public transport::QuicEvents {
 public:
  // `local_only(sni)`: rooms never homed elsewhere. `fixed_home(sni)`: rooms whose home is
  // known without the directory (a direct call's room on the callee's relay). `log`: one JSON
  // line per decision.
  ClusterRouter(boost::asio::io_context& io, RelayServer& local, Forwarder& pipes,
                Directory& directory, std::function<bool(const std::string&)> local_only,
                std::function<std::optional<RelayAt>(const std::string&)> fixed_home,
                std::function<void(const std::string&)> log = {});
  ~ClusterRouter() override;

  void on_established(transport::QuicConnection& c) override;
  void on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_closed(transport::QuicConnection& c, const std::string& reason) override;
  void on_narrow_path(transport::QuicConnection& c) override;

  // The rooms whose members this relay pipes elsewhere, with how many (for the directory).
  std::vector<std::pair<std::string, size_t>> piped_rooms() const;
  const ClusterRouterStats& stats() const { return stats_; }
  std::string metrics_text() const;

 private:
  struct Waiting {
    proto::SignalFrameReader reader;
    std::vector<uint8_t> stream;  // everything received so far, replayed once decided
    bool asked = false;           // the home lookup is in flight
  };
  void serve_here(transport::QuicConnection& c, const std::vector<uint8_t>& stream);
  void watch_homes();
  void decide(transport::QuicConnection& c);
  void route(transport::QuicConnection& c, const std::optional<RelayAt>& home,
             const std::vector<uint8_t>& stream);
  void log(const char* event, const transport::QuicConnection& c, const std::string& detail);

  boost::asio::io_context& io_;
  RelayServer& local_;
  Forwarder& pipes_;
  Directory& directory_;
  std::function<bool(const std::string&)> local_only_;
  std::function<std::optional<RelayAt>(const std::string&)> fixed_home_;
  std::function<void(const std::string&)> log_;
  std::map<transport::QuicConnection*, Waiting> waiting_;
  // Decided: served here (nullopt), or piped to the relay with this ID.
  std::map<transport::QuicConnection*, std::optional<std::string>> decided_;
  boost::asio::steady_timer watch_;
  ClusterRouterStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wzp::relay
