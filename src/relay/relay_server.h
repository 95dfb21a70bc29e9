// The relay's room mode: clients connect over QUIC, present themselves with a signed
// CallOffer (the per-hop handshake), and join the room named by their SNI. Each media
// datagram goes to every other member of the room, never back to its sender, wrapped in a
// one-entry trunk frame that names the sender's session (receivers pick the sender key by
// it). The relay never decodes or decrypts media: room media is end-to-end encrypted with
// sender keys it never holds, and SenderKey messages pass through it unopened.
//
// The reserved room "echo" (its SNI is room_sni("echo")) sends a member's media back to that
// member only, for connectivity and quality tests.
//
// A session that opens with FederationHello is another relay (a forwarding relay's pipe or a
// prober): media toward it is batched into trunk frames (every 5 ms or when a frame is full,
// sized to its path MTU), and its probe datagrams are reflected.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "crypto/handshake.h"
#include "crypto/identity.h"
#include "proto/quality_controller.h"
#include "proto/signal_framing.h"
#include "proto/trunk_frame.h"
#include "relay/rate_limit.h"
#include "transport/quic.h"

namespace wzp::relay {

inline constexpr const char* kEchoRoom = "echo";
inline constexpr size_t kMaxDisplayName = 64;          // bytes, in CallOffer and RegisterPresence
inline constexpr size_t kPresenceChallengeBytes = 16;  // the nonce a registration signs
inline constexpr size_t kMaxCallId = 64;               // bytes
inline constexpr size_t kMaxRingingPerCaller = 4;      // unanswered direct calls per registration
inline constexpr size_t kMaxCalls = 10000;             // direct calls the relay tracks at once

// What an auth service said of a token (--auth-url; see docs/OPERATIONS.md).
struct AuthVerdict {
  enum class Result { kValid, kRefused, kUnavailable } result = Result::kRefused;
  std::string reason;
};
using Authorizer =
    std::function<void(const std::string& token, std::function<void(AuthVerdict)> done)>;

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
  // One structured line (JSON) per session lifecycle event; stderr when empty.
  std::function<void(const std::string&)> log;
};

struct RelayStats {
  uint64_t datagrams_in = 0, datagrams_out = 0, bytes_in = 0, bytes_out = 0;
  uint64_t dropped_not_joined = 0, dropped_not_media = 0, dropped_send = 0, dropped_rate = 0,
           cut_off = 0;
  uint64_t dropped_oversized = 0;    // too long for a trunk entry (over 2041 bytes)
  uint64_t signal_rate_dropped = 0;  // signalling messages over kSignalRate, not handled
  uint64_t signal_errors = 0, handshakes_ok = 0, handshakes_failed = 0, forged_sender_keys = 0;
  uint64_t invites_refused = 0;  // offers for an invite-only room without its key
  uint64_t presence = 0, calls_offered = 0, calls_connected = 0;
  uint64_t auth_valid = 0, auth_refused = 0, auth_unavailable = 0, idle_expired = 0;
  uint64_t trunk_frames = 0, trunk_entries = 0, probes_reflected = 0;
  uint64_t stale_dropped = 0;  // on connections now closed (live ones are summed when scraped)
  uint64_t shed = 0;           // the same: shed in front of a queue (DatagramPacer)
  uint64_t bare_sent = 0, bare_received = 0, bare_rejected = 0;  // the same: bare datagrams
  uint64_t narrow_paths = 0;  // narrow ways to a member found (a probe train or a standing queue)
  // Quality reports and directives in datagrams (proto::signal_datagram): reports taken, copies
  // of one already had (or older than it), datagrams refused (not a QualityUpdate, or not
  // parsable), directive copies sent.
  uint64_t signal_datagrams_in = 0, signal_datagrams_stale = 0, dropped_bad_signal = 0;
  uint64_t signal_datagrams_out = 0;
  // Time from a datagram's arrival to its last copy handed to the transport, microseconds.
  static constexpr double kLatencyBucketsUs[] = {5, 10, 25, 50, 100, 250, 1000};
  uint64_t latency_buckets[std::size(kLatencyBucketsUs)] = {};
  uint64_t latency_count = 0;
  double latency_sum_us = 0;
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

  // Room ACLs from the config (room name -> fingerprints allowed); replaces the previous set
  // (SIGHUP reloads it). Members already in a room stay; the list applies to joins.
  void set_room_acls(const std::map<std::string, std::set<std::string>>& acls);
  // At a reload (SIGHUP): the load bounds and the token check in force from now on. Sessions
  // and rooms already over a lowered bound stay; new ones are refused.
  void set_limits(size_t max_sessions, size_t max_participants_per_room, RateLimit rate,
                  std::chrono::milliseconds idle_timeout);
  void set_authorizer(Authorizer authorize) { config_.authorize = std::move(authorize); }
  // Hangs up every session with a reason (SIGTERM).
  void shutdown(const std::string& reason);
  const RelayStats& stats() const { return stats_; }
  size_t sessions() const { return sessions_.size(); }
  // Prometheus text exposition of everything the relay counts.
  std::string metrics_text() const;
  size_t members(const std::string& room_sni) const;

 private:
  struct Session {
    transport::QuicConnection* conn = nullptr;
    uint16_t id = 0;
    uint64_t serial = 0;  // unique for the relay's lifetime (ids and pointers are reused)
    std::string room;     // the SNI: the hashed room name
    bool joined = false;
    bool closed = false;
    std::string presence;             // fingerprint registered for direct calls, if any
    proto::Bytes presence_challenge;  // this connection's nonce a registration must sign
    TokenBucket bucket;               // per-source packet rate
    TokenBucket signal_bucket;        // its signalling messages (kSignalRate)
    bool peer_relay = false;          // opened with FederationHello
    enum class Auth { kNone, kPending, kValid } auth = Auth::kNone;
    std::vector<proto::SignalMessage> held;  // what arrived while the token was checked
    std::chrono::steady_clock::time_point last_active{};
    std::optional<proto::TrunkBuilder> batch;  // media waiting for the next trunk flush
    size_t batch_mtu = 0;
    bool pending_flush = false;
    std::optional<proto::QualityUpdate> quality;  // its latest report
    proto::NewestSeq report_seq;  // that report's seq: a copy or an older one is not taken
    // The relay's measurement of the path to it (see on_narrow_path), in force for kLegFor.
    static constexpr auto kLegFor = std::chrono::seconds(30);
    struct Leg {
      double capacity_kbps = 0, queue_ms = 0;
      std::chrono::steady_clock::time_point at{};
    } leg;
    proto::Participant info;
    proto::SignalFrameReader reader;
  };

  Session* session_of(transport::QuicConnection& c);
  void handle(Session& s, const proto::SignalMessage& msg);
  // The auth gate in front of handle(): true when msg may go on now.
  bool admitted(Session& s, const proto::SignalMessage& msg);
  void authorized(uint64_t serial, const AuthVerdict& v);
  // One copy of a member's datagram to one receiver: at once, or into its trunk batch.
  void deliver(Session& to, uint16_t from, std::span<const uint8_t> datagram,
               std::span<const uint8_t> single);
  void flush_batch(Session& s);
  void flush_all();
  void sweep_idle();
  void join(Session& s, const proto::CallOffer& offer);
  void register_presence(Session& s, const proto::RegisterPresence& reg);
  // The size of each probe in the train sent right after a member joins (see join()).
  static constexpr size_t kJoinProbeBytes = 640;
  void direct_call(Session& s, const proto::SignalMessage& msg);
  Session* present(const std::string& fingerprint);
  void leave(Session& s);
  void drop_unanswered_calls(const Session& s);
  void room_update(const std::string& room);
  void on_quality(Session& s, const proto::QualityUpdate& q);
  void on_signal_datagram(Session& s, std::span<const uint8_t> d);
  // Directives to the room's members from their reports (queue: one reported a queue, which
  // goes out at once to those whose stream met it).
  // queue: a report of a queue on a path; new_loss: a report of loss after one of none. Either
  // is passed on at once (at most every 200 ms), the rest once a second.
  void direct(const std::string& room, bool queue, bool new_loss = false);
  std::pair<double, double> capacity_of(const Session& m,
                                        std::chrono::steady_clock::time_point now) const;
  void send(Session& s, const proto::SignalMessage& msg);
  void hangup(Session& s, const std::string& reason);
  // {"event":..., "session":..., "room":..., plus extra fields} as one line.
  void log(const char* event, const Session& s, const std::string& extra_json = {});
  uint16_t next_session_id();
  uint32_t directive_seq_ = 0;  // QualityDirective.seq: counts every directive sent

  boost::asio::io_context& io_;
  const crypto::Identity& identity_;
  RelayConfig config_;
  boost::asio::steady_timer flush_timer_, idle_timer_;
  bool sweep_armed_ = false;  // the idle sweep's timer is running
  bool flush_armed_ = false;
  std::vector<Session*> pending_;  // sessions with a trunk batch waiting
  std::vector<uint8_t> out_;       // the trunk frame being sent
  uint64_t last_serial_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  crypto::OfferReplayCache replay_;
  std::map<transport::QuicConnection*, std::unique_ptr<Session>> sessions_;
  // Sessions closed during the current callback; freed at the next one, so that no code
  // still on the stack holds a dangling reference.
  std::vector<std::unique_ptr<Session>> graveyard_;
  std::map<std::string, std::set<Session*>> rooms_;
  // Per room: the controller fed with the weakest member's report, once a second at most.
  struct RoomQuality {
    proto::QualityController controller;
    std::chrono::steady_clock::time_point last_fed{};
    std::chrono::steady_clock::time_point last_queue_fed{};  // with a queue reported
  };
  std::map<std::string, RoomQuality> room_quality_;
  uint16_t last_id_ = 0;
  std::string echo_sni_;
  // Direct calls: who called whom, and the private room the two meet in once accepted.
  struct Call {
    std::string caller, callee;  // fingerprints
    std::string room;            // room name; its SNI hash admits only these two
  };
  std::map<std::string, Call> calls_;                        // by call_id
  std::map<std::string, std::set<std::string>> room_acl_;    // room SNI -> fingerprints
  std::map<std::string, std::set<std::string>> config_acl_;  // room SNI -> fingerprints
  // The names the relay knows (the echo room, the rooms of its access lists), by SNI: log lines
  // name these rooms beside their hash. Other rooms reach the relay as a hash alone.
  std::map<std::string, std::string> room_names_;
  RelayStats stats_;
};

}  // namespace wzp::relay
