// The relay's logic, with no sockets and no clock of its own: connections come in as Peers
// (peer.h) and time from a proto::Scheduler, so that tests drive it on a simulated clock and
// RelayServer (relay_server.h) on QUIC and an io_context.
//
// Room mode: clients present themselves with a signed CallOffer (the per-hop handshake) and join
// the room named by their SNI. Each media datagram goes to every other member of the room,
// never back to its sender, as a trunk frame that names the sender's session (receivers pick the
// sender key by it). The relay never decodes or decrypts media: room media is end-to-end
// encrypted with sender keys it never holds, and SenderKey messages pass through it unopened.
// The reserved room "echo" (its SNI is room_sni("echo")) sends a member's media back to that
// member only, for connectivity and quality tests.
//
// A session that opens with FederationHello is another relay (a forwarding relay's pipe or a
// prober): media toward it is batched into trunk frames, and its probe datagrams are reflected.
//
// The parts, one concern each: Rooms (members, fan-out, updates, room quality), DirectCalls
// (presence and calls), AuthGate (the token check), TrunkBatcher (media toward a receiver).
// This class owns the sessions, routes each message to its part, and expires idle sessions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/handshake.h"
#include "crypto/identity.h"
#include "proto/room_name.h"
#include "proto/scheduler.h"
#include "relay/auth_gate.h"
#include "relay/direct_calls.h"
#include "relay/directory.h"
#include "relay/rooms.h"
#include "relay/session.h"
#include "relay/stats.h"
#include "relay/trunk_batcher.h"

namespace wzp::relay {

struct RelayConfig {
  size_t max_sessions = 1000;
  size_t max_participants_per_room = 100;
  RateLimit rate;
  // A session that sends nothing for this long is hung up ("idle"); zero never expires.
  std::chrono::milliseconds idle_timeout{120000};
  // Batch media into trunk frames toward clients too (always toward relays).
  bool trunk_clients = false;
  std::chrono::microseconds trunk_flush{5000};
  // When set, clients must open with an AuthToken, checked here before anything else.
  Authorizer authorize;
  // One structured line (JSON) per session lifecycle event; none when empty (the library
  // never writes to the terminal itself: the app routes this to its logger).
  std::function<void(const std::string&)> log;
  // The wall clock, ms since the epoch (presence registrations are timestamped); the system's
  // when empty.
  std::function<uint64_t()> wall_ms;
};

class Relay {
 public:
  Relay(proto::Scheduler& scheduler, const crypto::Identity& identity, RelayConfig config = {});
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // The transport's events. A Peer stays valid until closed() has returned.
  // `sni`: the room it asked for; `from`: its address, for the log.
  void connected(Peer& p, const std::string& sni, const std::string& from);
  // True when the datagram was media and went to the room (the caller may time that).
  bool datagram(Peer& p, std::span<const uint8_t> d);
  void stream(Peer& p, std::span<const uint8_t> d);
  void closed(Peer& p);
  // The transport found the way to p narrow (p.stats().pacer).
  void narrow_path(Peer& p);

  // For a transport that forwards media itself (WorkerPool: the worker that holds a sender and
  // all its receivers). Each joined member of `room`, with whom its media goes to; `direct` when
  // its datagrams may go to them as datagram() would send them, each copy a trunk frame of one
  // entry: no batching toward clients (trunk_clients), no relay among the room's members.
  struct MediaRoute {
    Peer* from = nullptr;
    uint16_t id = 0;  // the sender's session, named in each copy
    bool direct = false;
    std::vector<Peer*> to;
  };
  std::vector<MediaRoute> media_routes(const std::string& room);
  // Told a room's SNI whenever its routes may have changed: a join, a leave (with the member
  // that left, whose own route is gone), the rate limit reloaded (every room).
  void set_route_watcher(std::function<void(const std::string& room, Peer* left)> watcher) {
    route_watcher_ = std::move(watcher);
  }
  const RateLimit& rate_limit() const { return config_.rate; }
  // p's media went to its room without datagram() (its transport forwarded it): p is active.
  void active(Peer& p);
  // p kept sending over its rate where its transport forwarded its media (which counted it):
  // hung up as datagram() hangs up a flood. `over`: the datagrams over the rate.
  void cut_off(Peer& p, uint64_t over);

  // Room ACLs from the config (room name -> fingerprints allowed); replaces the previous set
  // (SIGHUP reloads it). Members already in a room stay; the list applies to joins.
  void set_room_acls(const std::map<std::string, std::set<std::string>>& acls);
  // At a reload (SIGHUP): the load bounds in force from now on. Sessions and rooms already
  // over a lowered bound stay; new ones are refused.
  void set_limits(size_t max_sessions, size_t max_participants_per_room, RateLimit rate,
                  std::chrono::milliseconds idle_timeout);
  void set_authorizer(Authorizer authorize) { gate_.set_authorizer(std::move(authorize)); }
  // Hangs up every session with a reason (SIGTERM).
  void shutdown(const std::string& reason);

  const RelayStats& stats() const { return stats_; }
  RelayStats& stats() { return stats_; }
  size_t sessions() const { return sessions_.size(); }
  size_t members(const std::string& room_sni) const { return rooms_.members(room_sni); }
  size_t calls() const { return calls_.calls(); }
  DirectCalls& direct_calls() { return calls_; }
  // What the cluster directory publishes of this relay (directory.h).
  DirectoryLoad directory_load() const;
  // Rooms that live on this relay alone, never homed elsewhere in a cluster: the echo room,
  // presence registrations, and a direct call's private room (its parties are known here).
  bool local_only(const std::string& sni) const;
  // The wall clock the relay goes by (RelayConfig::wall_ms, else the system's), ms since the epoch.
  uint64_t wall_ms() const;
  // Prometheus text exposition of everything the relay counts (relay_metrics.cpp).
  std::string metrics_text() const;

 private:
  Session* session_of(Peer& p);
  uint16_t next_session_id();
  void handle(Session& s, const proto::SignalMessage& msg);
  void authorized(uint64_t serial, const AuthVerdict& v);
  void join(Session& s, const proto::CallOffer& offer);
  void on_sender_key(Session& s, const proto::SenderKey& key, bool by_datagram = false);
  void on_signal_datagram(Session& s, std::span<const uint8_t> d);
  bool admit_signal(Session& s);
  void leave(Session& s);
  void cut_off(Session& s, uint64_t over);
  void routes_changed(const std::string& room, Peer* left = nullptr) {
    if (route_watcher_) route_watcher_(room, left);
  }
  void hangup(Session& s, const std::string& reason);
  void arm_sweep();
  void sweep_idle();
  // {"event":..., "session":..., "room":..., plus the extra fields} as one line.
  void log(const char* event, const Session& s, const nlohmann::ordered_json& extra = {});

  // The size of each probe in the train sent right after a member joins (see join()).
  static constexpr size_t kJoinProbeBytes = 640;

  proto::Scheduler& scheduler_;
  const crypto::Identity& identity_;
  RelayConfig config_;
  RelayStats stats_;
  std::string echo_sni_;
  Rooms rooms_;
  DirectCalls calls_;
  AuthGate gate_;
  TrunkBatcher batcher_;
  uint64_t sweep_timer_ = 0;  // the idle sweep's timer id, 0 when none runs
  uint64_t last_serial_ = 0;
  uint16_t last_id_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  crypto::OfferReplayCache replay_;
  std::map<Peer*, std::unique_ptr<Session>> sessions_;
  // Sessions closed during the current callback; freed at the next one, so that no code
  // still on the stack holds a dangling reference.
  std::vector<std::unique_ptr<Session>> graveyard_;
  std::map<std::string, std::set<std::string>> config_acl_;  // room SNI -> fingerprints
  std::function<void(const std::string&, Peer*)> route_watcher_;
  // The names the relay knows (the echo room, the rooms of its access lists), by SNI: log lines
  // name these rooms beside their hash. Other rooms reach the relay as a hash alone.
  std::map<std::string, std::string> room_names_;
};

}  // namespace wzp::relay
