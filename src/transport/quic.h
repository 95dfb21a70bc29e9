// QUIC on ngtcp2 + GnuTLS over Boost.Asio UDP sockets (ALPN "wzp/1", TLS 1.3).
//
// One QuicConnection per peer carries unreliable DATAGRAM frames (RFC 9221) for media and
// one bidirectional stream (id 0, opened by the client) for signalling bytes. QuicServer
// accepts connections on one socket and routes packets by connection ID; QuicClient holds
// one connection and can move it to a new local socket (connection migration).
#pragma once

#include <utility>  // before Asio (Boost 1.74 with g++ 12)

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct ngtcp2_pkt_hd;  // ngtcp2.h, kept out of this header

#include "transport/datagram_pacer.h"
#include "transport/tls_identity.h"
#include "transport/udp_batch.h"
#include "transport/worker_placement.h"

namespace wzp::transport {

inline constexpr const char* kAlpn = "wzp/1";
// A client sends each packet of its handshake this many times (see QuicClient).
inline constexpr int kHandshakeCopies = 3;

struct QuicStats {
  double srtt_ms = 0, rttvar_ms = 0, min_rtt_ms = 0;
  uint64_t datagrams_sent = 0, datagrams_acked = 0, datagrams_lost = 0, datagrams_received = 0;
  uint64_t datagrams_dropped = 0;  // could not be sent (too large, or connection not ready)
  uint64_t datagrams_expired = 0;  // waited longer than QuicConfig::max_datagram_wait_ms
  uint64_t datagrams_shed = 0;     // not sent: a queue stood on the way (see DatagramPacer)
  PacerState pacer;                // that queue, and the path's capacity while it stood
  uint64_t probe_trains = 0;       // probe trains sent (a join's, and any loss made it repeat)
  uint64_t heartbeats = 0;         // one-byte heartbeats sent beside media (see flush)
  uint64_t signal_overflows = 0;   // messages refused: the peer left too much unacknowledged
  size_t max_udp_payload = 0;      // current path MTU for QUIC packets
  uint64_t cwnd = 0, bytes_in_flight = 0;  // the congestion controller's, in bytes
  size_t pto_count = 0;                    // probe timeouts in a row without an acknowledgement
  uint64_t deferred_closes = 0;  // close() from inside ngtcp2's callbacks, done once it returned
  // Bare datagrams (bare_datagram.h): sent beside a full congestion window, received, and
  // received but dropped (did not open, or replayed).
  uint64_t bare_sent = 0, bare_received = 0, bare_rejected = 0;
  // Packets without media (signalling, acknowledgements, the transport's own) sent again: one
  // copy more per probe timeout in a row, up to kMaxControlCopies in all. Through 80 % loss
  // each way a round trip succeeds 4 % of the time, and each message, acknowledgement and
  // retransmission waited on probe timeouts that double; the receiver drops the copies as
  // duplicates. Media is never copied (the call repairs its own).
  uint64_t control_copies = 0;
  uint64_t packets_sent = 0;  // QUIC packets, copies included (bare datagrams: bare_sent)
  // Bytes of the packets received that carried no datagram (signalling, acknowledgements, the
  // transport's own), each with its IPv4 and UDP headers: what shares the path with the media
  // (proto::CapacityMeter).
  uint64_t control_bytes_received = 0;
};

// The share of our datagrams QUIC declared lost, in percent, once at least `enough` have been
// acknowledged or lost; nothing until then (fewer say little).
inline std::optional<double> judged_datagram_loss(const QuicStats& q, uint64_t enough = 20) {
  const uint64_t judged = q.datagrams_acked + q.datagrams_lost;
  if (judged < enough || judged == 0) return std::nullopt;
  return 100.0 * static_cast<double>(q.datagrams_lost) / static_cast<double>(judged);
}

class QuicConnection;

// What a connection's owner hears. All calls come from the io_context's thread.
class QuicEvents {
 public:
  virtual ~QuicEvents() = default;
  virtual void on_established(QuicConnection&) {}
  virtual void on_datagram(QuicConnection&, std::span<const uint8_t>) {}
  virtual void on_stream(QuicConnection&, std::span<const uint8_t>) {}  // signalling, in order
  virtual void on_closed(QuicConnection&, const std::string& reason) { (void)reason; }
  // The path in front of our datagrams is narrow: a probe train measured it, or a queue has begun
  // to stand (stats().pacer says what the path carries); datagrams over that are being shed.
  virtual void on_narrow_path(QuicConnection&) {}
};

// The server socket's receive buffer asked of the kernel (capped by net.core.rmem_max).
inline constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;

struct QuicConfig {
  uint64_t idle_timeout_ms = 30000;
  uint64_t keepalive_ms = 5000;
  size_t max_udp_payload = 1200;  // 1200 (QUIC's minimum) to 65527
  // false: packets up to max_udp_payload from the start; true: from 1200 bytes, probing upward.
  // Off by default: a call's packets are small, and each probe of a 1452-byte path takes
  // 480 ms of a 24 kbit/s link, with the call's audio queued behind it (several per call,
  // since the path's own loss takes probes too).
  bool probe_path_mtu = false;
  // Media is perishable: a datagram the congestion window held back this long (through an
  // outage, say) is dropped rather than sent ahead of fresh ones once the path is back.
  uint64_t max_datagram_wait_ms = 300;
  // An acknowledgement owed while media flows to the peer waits up to this long for the next
  // datagram to carry it instead of leaving in a packet of its own (flush): a 24 kbit/s way
  // spent a fifth of itself on those. 0: acknowledge as ngtcp2 schedules it (max_ack_delay).
  uint64_t ack_hold_ms = 65;
  // A client's first destination connection ID opens with sni_route_byte(SNI) rather than a
  // random byte, so that every client of one SNI (one room) reaches the same worker of a relay
  // that has several (QuicWorker), and the room's media stays on that worker. The SNI is in the
  // clear in the same packet, so the byte tells an observer nothing new.
  bool steer_by_sni = true;
};

// A server that is one of `count` sharing a UDP port, one per thread (SO_REUSEPORT). The kernel
// hands each packet to the server its connection ID names: every ID a server issues has
// cid[0] % count == index, and the group's steering program (a classic BPF program on the
// reuseport group) returns the first byte of a packet's destination ID modulo count. A client
// that migrates keeps its IDs, so it keeps its server. A new client's Initial bears an ID of
// its own choosing and lands on any server, which answers with IDs of its own.
struct QuicWorker {
  size_t index = 0, count = 1;
  // Shared by the group's servers (worker_placement.h): where each first byte's connections
  // go, and the Retry key. Made by worker 0's server when not given; the others are given its
  // (QuicServer::worker()).
  std::shared_ptr<WorkerPlacement> placement;
  // A connection ID's first byte made to name this server: `random` with the lowest bits
  // changed so that it is index modulo count (random when count is 1).
  uint8_t route_byte(uint8_t random) const;
};

// The first byte of a client's first connection ID for `sni` (FNV-1a of the SNI, folded to a
// byte): the same on every client and build, so one SNI's clients share a worker.
uint8_t sni_route_byte(std::string_view sni);

inline constexpr int kMaxControlCopies = 3;

// Signalling queued toward a peer and not yet acknowledged, at most (four stream windows): a
// peer that leaves more than this unread is closed.
inline constexpr uint64_t kMaxUnackedSignalBytes = 1 << 20;

// What a connection needs of the endpoint that owns it (QuicServer or QuicClient): a socket to
// send its packets on and, for a server, the table that routes connection IDs to it. Given to
// the connection when it is made.
class QuicEndpoint {
 public:
  virtual void send_packet(QuicConnection& c, std::span<const uint8_t> packet,
                           const boost::asio::ip::udp::endpoint& to) = 0;
  // A connection ID issued for c (route packets bearing it to c), or retired.
  virtual void cid_issued(QuicConnection& c, std::span<const uint8_t> cid) { (void)c, (void)cid; }
  virtual void cid_retired(QuicConnection& c, std::span<const uint8_t> cid) { (void)c, (void)cid; }
  // Makes a connection ID about to be issued name this endpoint (QuicWorker); a client's need not.
  virtual void stamp_cid(std::span<uint8_t> cid) { (void)cid; }
  // c has closed and may be freed once the current callback has returned.
  virtual void closed(QuicConnection& c) { (void)c; }

 protected:
  ~QuicEndpoint() = default;
};

class QuicConnection {
 public:
  ~QuicConnection();
  QuicConnection(const QuicConnection&) = delete;
  QuicConnection& operator=(const QuicConnection&) = delete;

  // Queues a datagram (sent at the next flush). False when it can never fit.
  bool send_datagram(std::span<const uint8_t> data);
  // Queues DatagramPacer::kProbes datagrams of `bytes` (the first byte `tag`, zeros after),
  // back to back, as a probe train that measures the path before any media (see
  // DatagramPacer; other datagrams wait for its answer). False when it cannot be one:
  // datagrams already queued, or two would share a packet. A train that loss leaves without a
  // verdict is sent again by the connection itself (DatagramPacer::wants_train).
  bool send_probe_train(uint8_t tag, size_t bytes);
  // Appends bytes to the signalling stream (past kMaxUnackedSignalBytes unacknowledged, the
  // connection is closed instead).
  void send_stream(std::span<const uint8_t> data);
  void close(const std::string& reason);

  bool established() const { return established_; }
  bool closed() const { return closed_; }
  QuicStats stats() const;
  // QuicStats::control_bytes_received alone, without stats()'s reading of ngtcp2 and the clock:
  // the receiver asks for it with every media datagram.
  uint64_t control_bytes_received() const { return stats_.control_bytes_received; }
  const std::string& sni() const { return sni_; }  // server side: what the client asked for
  boost::asio::ip::udp::endpoint remote() const { return remote_; }

 private:
  friend class QuicServer;
  friend class QuicClient;
  friend struct QuicCallbacks;
  struct Impl;

  QuicConnection(boost::asio::io_context& io, QuicEndpoint& endpoint, QuicEvents& events,
                 const QuicConfig& config);
  int read(const boost::asio::ip::udp::endpoint& local, const boost::asio::ip::udp::endpoint& from,
           std::span<const uint8_t> packet);
  void flush();
  void post_flush();
  void arm_timer();
  // The pacer found the path narrow: the owner hears of it once this packet has been read
  // (never from inside ngtcp2's callback).
  void narrowed();
  // The pacer asks for another probe train: sent once this packet has been read, in place of
  // whatever datagrams queued meanwhile (they would wait behind it on a path not yet known).
  void probe_again();
  // What the pacer said after an acknowledgement, a loss or a poll: a limit begun, and whether
  // it wants another train.
  void pacer_said(bool began_limiting);
  void fail(const std::string& reason);
  // Bare datagrams: keys from the finished handshake; a received packet that is one (true:
  // taken, delivered or dropped); the queue's head sent as one when the window is full.
  void key_bare_datagrams(bool server);
  bool take_bare(std::span<const uint8_t> packet);
  bool send_bare();
  int control_copies() const;
  // Whether the control packet ngtcp2 would write now (an acknowledgement, most often) waits
  // for the next datagram instead (QuicConfig::ack_hold_ms); and when it stops waiting.
  bool holds_ack(uint64_t ts) const;
  uint64_t ack_release_ns() const;
  void send_packet(std::span<const uint8_t> packet, const boost::asio::ip::udp::endpoint& to,
                   int copies);

  boost::asio::io_context& io_;
  QuicEndpoint& endpoint_;
  QuicEvents& events_;
  QuicConfig config_;
  std::unique_ptr<Impl> impl_;
  boost::asio::steady_timer timer_;
  boost::asio::ip::udp::endpoint remote_;
  std::string sni_;
  bool established_ = false, closed_ = false, close_reported_ = false, flush_posted_ = false;
  bool reading_ = false;                      // inside ngtcp2_conn_read_pkt (and its callbacks)
  bool datagram_read_ = false;                // the packet being read carried a datagram
  bool owes_ack_ = false;                     // ... something that asks for an acknowledgement
  bool ack_urgent_ = false;                   // ... one that must not wait (a probe train's)
  std::optional<std::string> pending_close_;  // close() asked for meanwhile
  QuicStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// How many handshakes may be in progress before a new client must prove its address with a
// Retry round trip, and how many even a proven one may have; with what happened.
struct QuicServerLimits {
  size_t retry_above_per_source = 4;     // handshakes in progress from one IP address
  size_t retry_above = 64;               // ... from everyone
  size_t max_half_open_per_source = 64;  // not even after a Retry
  size_t max_half_open = 1024;
  uint64_t retries = 0;           // Retry packets sent
  uint64_t placed_elsewhere = 0;  // of them, to send a client to the worker its room is on
  uint64_t bad_tokens = 0;        // Initials with a Retry token that does not check out (dropped)
  uint64_t refused = 0;           // Initials over the hard bounds (dropped)
};

// Accepts connections on one UDP socket.
class QuicServer : private QuicEndpoint {
 public:
  // With worker.count > 1 the socket joins a reuseport group on `listen` (bind the servers in
  // index order: the group's order is the order they bound; index 0 binds first and attaches
  // the steering program).
  QuicServer(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& listen,
             const TlsCertificate& cert, QuicEvents& events, QuicConfig config = {},
             QuicWorker worker = {});
  ~QuicServer();
  boost::asio::ip::udp::endpoint local_endpoint() const { return local_; }
  void stop();
  size_t connections() const { return conns_.size(); }
  size_t connection_ids() const { return by_cid_.size(); }   // routed to a connection of ours
  size_t connection_ids_of(const QuicConnection& c) const {  // ... to that one
    const auto it = cids_of_.find(&c);
    return it == cids_of_.end() ? 0 : it->second.size();
  }
  uint64_t dropped_packets() const { return dropped_; }  // unparsable or unroutable
  // This server's place in its group, with the group's shared placement (for the others).
  const QuicWorker& worker() const { return worker_; }
  QuicServerLimits& limits() { return limits_; }
  const QuicServerLimits& limits() const { return limits_; }
  // Prometheus families NAME_quic_*: connections and their IDs held, handshakes in progress,
  // junk dropped, Retries sent, Initials refused.
  std::string metrics_text(const std::string& name) const;
  // The receive path for one UDP datagram (what the socket loop calls; the fuzz target too).
  void handle(std::span<const uint8_t> packet, const boost::asio::ip::udp::endpoint& from);

 private:
  void send_packet(QuicConnection& c, std::span<const uint8_t> packet,
                   const boost::asio::ip::udp::endpoint& to) override;
  void cid_issued(QuicConnection& c, std::span<const uint8_t> cid) override;
  void cid_retired(QuicConnection& c, std::span<const uint8_t> cid) override;
  void stamp_cid(std::span<uint8_t> cid) override;
  void closed(QuicConnection& c) override;
  void receive();
  void reap();
  // A Retry whose new connection ID names worker `to` (this one's, or another of the group's).
  bool send_retry(const ::ngtcp2_pkt_hd& hd, const boost::asio::ip::udp::endpoint& from, size_t to);
  void add_cid(QuicConnection* c, std::string cid);
  // Handshakes in progress, in all and from `from`'s address.
  std::pair<size_t, size_t> half_open(const boost::asio::ip::udp::endpoint& from) const;
  static constexpr uint64_t kRetryTokenLifetimeMs = 10000;

  boost::asio::io_context& io_;
  boost::asio::ip::udp::socket socket_;
  UdpBatchSender out_;
  QuicEvents& events_;
  QuicConfig config_;
  struct Tls;
  std::unique_ptr<Tls> tls_;
  UdpBatchReceiver in_;
  // Transparent comparison: a packet's connection ID is looked up without building a string.
  std::map<std::string, QuicConnection*, std::less<>> by_cid_;
  // Each connection's IDs in by_cid_, and the connections closed since the last reap(): a
  // batch of packets costs nothing to reap unless a connection closed in it.
  std::unordered_map<const QuicConnection*, std::vector<std::string>> cids_of_;
  std::vector<QuicConnection*> dead_;
  boost::asio::ip::udp::endpoint local_;  // the socket's address, read once (not per packet)
  std::vector<std::unique_ptr<QuicConnection>> conns_;
  uint64_t dropped_ = 0;
  bool stopped_ = false;
  QuicServerLimits limits_;
  QuicWorker worker_;
  std::array<uint8_t, 32> retry_secret_{};  // keys the Retry tokens of this process (group)
  // Each connection's placement byte (the first byte of its client's first ID), while held.
  std::unordered_map<const QuicConnection*, uint8_t> placed_;
};

// One connection to a server. `verify` decides on the server certificate's fingerprint
// (pinning); returning false fails the handshake.
class QuicClient : private QuicEndpoint {
 public:
  QuicClient(boost::asio::io_context& io, const boost::asio::ip::udp::endpoint& server,
             const std::string& sni, std::function<bool(const std::string& fingerprint)> verify,
             QuicEvents& events, QuicConfig config = {});
  ~QuicClient();
  QuicConnection& connection() { return *conn_; }
  // Moves the connection to a fresh local socket (a new port): connection migration.
  void migrate();
  boost::asio::ip::udp::endpoint local_endpoint() const { return local_; }
  const std::string& server_fingerprint() const;
  struct Tls;

 private:
  void send_packet(QuicConnection& c, std::span<const uint8_t> packet,
                   const boost::asio::ip::udp::endpoint& to) override;
  void receive();
  boost::asio::io_context& io_;
  boost::asio::ip::udp::endpoint server_;
  std::unique_ptr<boost::asio::ip::udp::socket> socket_;
  std::unique_ptr<Tls> tls_;
  std::unique_ptr<QuicConnection> conn_;
  std::vector<uint8_t> buf_;
  boost::asio::ip::udp::endpoint from_;
  boost::asio::ip::udp::endpoint local_;  // the current socket's address, read once per socket
  // Down once destroyed: a receive that completed before the socket closed still runs.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wzp::transport
