// The relay on several threads (wzp-relay --workers N). Each worker thread runs an event loop
// with a QUIC server on the shared port (transport::QuicWorker: the kernel hands each packet to
// the worker whose connection IDs it bears, so a migrating client keeps its worker). The
// transport's work — system calls, packet protection, congestion control — happens on the
// worker that holds the connection. The room logic (Relay, one instance) runs on worker 0:
// a connection held by worker k > 0 reaches it as a RemotePeer, through a WorkerLink of two
// single-producer single-consumer rings, one each way, each with an eventfd that wakes the
// other loop once per turn in which something was queued. No lock is taken on the packet path.
//
// A room whose members all sit on one worker k > 0 has its media forwarded by worker k alone
// (our clients choose their first connection ID from the room's SNI, so the kernel puts a room
// on one worker: transport::QuicConfig::steer_by_sni). Worker 0 keeps the room logic and tells
// worker k, at every join and leave, each member's receivers (a route); worker k then sends a
// member's media datagram straight to them, with the rate limit and counters the room logic
// would apply, and everything else (signalling, anything not media, a member of no route) goes
// to worker 0 as before. A room spanning workers is served through worker 0, as before.
//
// Bounds: a ring holds kRingSlots messages. A datagram (or a stats snapshot) that finds its
// ring full is dropped and counted; a message that must arrive (a connection's arrival,
// signalling, a close) waits in its producer's backlog, retried each millisecond. Only a loop
// stalled for seconds fills a backlog (kMaxBacklog); past it messages are dropped and counted
// too.
#pragma once

#include <utility>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "relay/peer.h"
#include "relay/rate_limit.h"
#include "relay/relay_server.h"
#include "relay/spsc_ring.h"
#include "relay/stats.h"
#include "relay/trunk_batcher.h"
#include "transport/quic.h"

namespace wzp::relay {

struct WorkerMessage {
  enum class Kind : uint8_t {
    // worker k -> worker 0, about a connection worker k holds
    kEstablished,  // bytes: SNI, a zero byte, the peer's address; stats
    kDatagram,
    kStream,
    kNarrowPath,  // stats
    kClosed,
    // A fresh snapshot of the connection's QuicStats (four times a second); size: 1 when the
    // worker forwarded media of the connection's since the last one.
    kStats,
    kCutOff,  // the connection flooded media the worker forwarded; size: datagrams over
    // worker 0 -> worker k
    kSendDatagram,
    kSendStream,  // a framed signalling message
    kProbeTrain,  // tag, size
    kClose,       // bytes: the reason
    kRoute,       // from, rate; conns: the receivers of the connection's media (all on worker k)
    kUnroute,     // the connection's media goes to worker 0 again
  };
  Kind kind = Kind::kDatagram;
  uint64_t conn = 0;            // the serial worker k gave the connection
  std::vector<uint64_t> conns;  // kSendDatagram: every connection the datagram goes to
  std::vector<uint8_t> bytes;
  transport::QuicStats stats;
  uint8_t tag = 0;
  size_t size = 0;
  uint16_t from = 0;  // kRoute: the sender's session
  RateLimit rate;     // kRoute: its rate limit

  // Droppable ones may be lost when a ring is full; the others wait in a backlog.
  bool droppable() const {
    return kind == Kind::kDatagram || kind == Kind::kStats || kind == Kind::kSendDatagram;
  }
};

// One direction between two event loops: the ring, the consumer's eventfd, and the
// producer's backlog.
class WorkerPipe {
 public:
  static constexpr size_t kRingSlots = 4096;
  static constexpr size_t kMaxBacklog = 16384;

  WorkerPipe(boost::asio::io_context& producer, boost::asio::io_context& consumer);
  ~WorkerPipe();
  WorkerPipe(const WorkerPipe&) = delete;
  WorkerPipe& operator=(const WorkerPipe&) = delete;

  // Consumer's thread, once: each message as it arrives.
  void consume(std::function<void(WorkerMessage&)> handler);
  // Producer's thread: `m` copied into the ring (or the backlog). False when dropped: a
  // droppable message that found the ring full, or any message past the backlog's bound.
  bool send(const WorkerMessage& m);
  // Producer's thread: a message built in place in the ring's slot (a datagram's bytes copied
  // once). False, and fill is not called, when it is dropped.
  // `counted`: a drop adds to dropped() (a stats snapshot's does not).
  template <class Fill>
  bool send_droppable(Fill&& fill, bool counted = true) {
    flush_fan_out();
    if (!backlog_.empty() || !ring_.push(fill)) {
      dropped_ += counted ? 1 : 0;
      return false;
    }
    queued();
    return true;
  }
  // Producer's thread: datagram `d` toward connection `conn`. Consecutive ones with the same
  // bytes (one datagram fanned out to the members a worker holds) travel as one message,
  // queued when a different one or any other message follows, or at the end of the turn; the
  // order of everything on the pipe is kept. False when dropped (the ring was full).
  bool send_datagram(uint64_t conn, std::span<const uint8_t> d);
  // Producer's side.
  uint64_t dropped() const { return dropped_; }
  size_t backlog() const { return backlog_.size(); }

 private:
  static constexpr size_t kMaxFanOut = 256;  // connections one datagram message names
  void flush_fan_out();  // producer: the datagram being fanned out, into the ring
  void queued();         // producer: wake the consumer at the end of this turn
  void notify();         // producer: move the backlog into the ring, write the eventfd
  void wait();           // consumer: wait for the eventfd, then drain

  SpscRing<WorkerMessage> ring_{kRingSlots};
  int fd_ = -1;  // eventfd
  // Producer's side.
  boost::asio::io_context& producer_;
  std::deque<WorkerMessage> backlog_;
  boost::asio::steady_timer retry_;
  bool posted_ = false;
  bool fanning_ = false;  // fan_out_ holds a datagram not yet in the ring
  WorkerMessage fan_out_;
  uint64_t dropped_ = 0;
  // Consumer's side.
  boost::asio::posix::stream_descriptor wake_;
  std::function<void(WorkerMessage&)> handler_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Both directions between worker 0 and worker k.
struct WorkerLink {
  WorkerLink(boost::asio::io_context& worker, boost::asio::io_context& home)
      : worker_io(worker), up(worker, home), down(home, worker) {}
  boost::asio::io_context& worker_io;
  WorkerPipe up;    // worker k -> worker 0
  WorkerPipe down;  // worker 0 -> worker k
  // Worker k's Prometheus text, rendered on its thread (set by its WorkerFront).
  std::function<std::string()> render;
};

// On worker k > 0: the QUIC server's events, sent up to worker 0; what comes down, done.
class WorkerFront final : public transport::QuicEvents {
 public:
  WorkerFront(boost::asio::io_context& io, WorkerLink& link);
  ~WorkerFront() override;

  void on_established(transport::QuicConnection& c) override;
  void on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) override;
  void on_closed(transport::QuicConnection& c, const std::string& reason) override;
  void on_narrow_path(transport::QuicConnection& c) override;

  size_t connections() const { return by_serial_.size(); }
  // What this worker's metrics add (its server's, from the app) to its own; worker 0 asks for
  // them through the link when /metrics is read.
  void set_metrics(std::function<std::string()> render) { render_ = std::move(render); }

 private:
  void down(WorkerMessage& m);
  // A message that must arrive; with the connection's stats when `stats_of` is given.
  void send(WorkerMessage::Kind kind, uint64_t serial, std::span<const uint8_t> bytes,
            const transport::QuicConnection* stats_of, size_t size = 0);
  void snapshot();

  WorkerLink& link_;
  boost::asio::steady_timer stats_timer_;
  uint64_t last_serial_ = 0;
  std::map<uint64_t, transport::QuicConnection*> by_serial_;
  std::map<const transport::QuicConnection*, uint64_t> serial_of_;
  uint64_t refused_down_ = 0;  // datagrams from worker 0 the connection did not take
  std::function<std::string()> render_;
  WorkerMessage scratch_;

  // A connection whose media this worker forwards itself (kRoute).
  struct Route {
    uint16_t from = 0;
    std::vector<uint64_t> to;
    RateLimit rate;
    TokenBucket bucket;
    bool active = false;  // media since the last stats snapshot
  };
  // True when d was media of a routed connection, forwarded (or dropped) here.
  bool forward(uint64_t serial, std::span<const uint8_t> d);
  std::map<uint64_t, Route> routes_;
  RelayStats media_;  // what this worker forwarded itself, as the room logic counts it
  uint64_t routed_ = 0;
  proto::TrunkBuilder single_{TrunkBatcher::kSingle};
};

// On worker 0: the links' messages, as events of the RelayServer there.
class WorkerHub {
 public:
  WorkerHub(boost::asio::io_context& home, RelayServer& relay);
  ~WorkerHub();
  // The link to the next worker, whose loop is `worker` (workers 1, 2, ... in order).
  WorkerLink& add_worker(boost::asio::io_context& worker);
  // Prometheus text: each worker's (fetched from its thread, waiting at most `wait`), summed
  // with `home_text` (worker 0's server), plus the links' own counters.
  std::string metrics_text(const std::string& home_text,
                           std::chrono::milliseconds wait = std::chrono::milliseconds(500));
  size_t remote_peers() const { return peers_.size(); }

 private:
  class RemotePeer;
  void up(size_t worker, WorkerMessage& m);
  // The room logic's routes for `room` sent to the workers: a route to the worker that holds a
  // member and all its receivers, none otherwise; `left` has none.
  void reroute(const std::string& room, Peer* left);

  boost::asio::io_context& home_;
  RelayServer& relay_;
  std::vector<std::unique_ptr<WorkerLink>> links_;  // links_[0] is worker 1's
  std::map<std::pair<size_t, uint64_t>, std::unique_ptr<RemotePeer>> peers_;
  // Peers closed during the current message, freed at the next one (see Relay::graveyard_).
  std::vector<std::unique_ptr<RemotePeer>> graveyard_;
  std::vector<std::string> last_text_;  // each worker's, for one that does not answer in time
};

// Workers 1..N-1 of a relay whose worker 0 is `home`, with `relay` and `server0`, a QUIC server
// made with QuicWorker{0, N}: for each, a loop on a thread of its own, a WorkerFront and a
// QuicServer on server0's port (sharing its group's placement), linked to the rooms through a
// WorkerHub. The threads start in the constructor and are stopped and joined first in the
// destructor, before what they use goes.
class WorkerPool {
 public:
  WorkerPool(boost::asio::io_context& home, RelayServer& relay, transport::QuicServer& server0,
             const transport::TlsCertificate& cert, const transport::QuicConfig& config = {});
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t workers() const { return others_.size() + 1; }
  // Worker k's loop and server, for k in 1..workers()-1.
  boost::asio::io_context& loop(size_t k) { return *loops_.at(k - 1); }
  transport::QuicServer& server(size_t k) { return *others_.at(k - 1).server; }
  size_t remote_peers() const { return hub_.remote_peers(); }
  // Each worker's server stops (on its own thread): it closes its connections and takes no
  // more.
  void stop_servers();
  // Prometheus text of all workers, `home_text` being worker 0's server's.
  std::string metrics_text(const std::string& home_text) { return hub_.metrics_text(home_text); }

 private:
  struct Worker {
    std::unique_ptr<WorkerFront> front;
    std::unique_ptr<transport::QuicServer> server;
  };
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  WorkerHub hub_;
  std::vector<Worker> others_;
  std::vector<std::thread> threads_;
};

}  // namespace wzp::relay
