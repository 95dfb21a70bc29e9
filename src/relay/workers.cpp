#include "relay/workers.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <stdexcept>
#include <system_error>

#include "proto/frame_tag.h"
#include "proto/prometheus.h"
#include "proto/signal_framing.h"

namespace wzp::relay {

namespace asio = boost::asio;

// A slot's bytes are kept for the next message, unless a large one (signalling) grew them.
constexpr size_t kKeptSlotBytes = 4096;

WorkerPipe::WorkerPipe(asio::io_context& producer, asio::io_context& consumer)
    : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      producer_(producer),
      retry_(producer),
      wake_(consumer) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "workers: eventfd");
  wake_.assign(::dup(fd_));
}

WorkerPipe::~WorkerPipe() {
  *alive_ = false;
  boost::system::error_code ignored;
  wake_.close(ignored);
  ::close(fd_);
}

void WorkerPipe::consume(std::function<void(WorkerMessage&)> handler) {
  handler_ = std::move(handler);
  wait();
}

void WorkerPipe::wait() {
  wake_.async_wait(asio::posix::stream_descriptor::wait_read,
                   [this, alive = alive_](const boost::system::error_code& ec) {
                     if (!*alive || ec) return;
                     uint64_t count = 0;
                     // Reset before draining: whatever is queued after the drain has looked
                     // at the ring comes with a write of its own.
                     (void)!::read(wake_.native_handle(), &count, sizeof count);
                     ring_.drain([this](WorkerMessage& m) {
                       handler_(m);
                       if (m.bytes.capacity() > kKeptSlotBytes) m.bytes = {};
                     });
                     wait();
                   });
}

bool WorkerPipe::send_datagram(uint64_t conn, std::span<const uint8_t> d) {
  if (fanning_ && fan_out_.conns.size() < kMaxFanOut &&
      std::equal(d.begin(), d.end(), fan_out_.bytes.begin(), fan_out_.bytes.end()) &&
      std::find(fan_out_.conns.begin(), fan_out_.conns.end(), conn) == fan_out_.conns.end()) {
    fan_out_.conns.push_back(conn);
    return true;
  }
  flush_fan_out();
  // Only this thread fills the ring: a slot free now is free when the message is flushed.
  if (!backlog_.empty() || ring_.full()) {
    ++dropped_;
    return false;
  }
  fanning_ = true;
  fan_out_.kind = WorkerMessage::Kind::kSendDatagram;
  fan_out_.bytes.assign(d.begin(), d.end());
  fan_out_.conns.assign(1, conn);
  queued();
  return true;
}

void WorkerPipe::flush_fan_out() {
  if (!fanning_) return;
  fanning_ = false;
  // Swapped, not copied: the slot's buffers come back to be filled next time.
  ring_.push([this](WorkerMessage& slot) {
    slot.kind = WorkerMessage::Kind::kSendDatagram;
    slot.bytes.swap(fan_out_.bytes);
    slot.conns.swap(fan_out_.conns);
  });
}

bool WorkerPipe::send(const WorkerMessage& m) {
  flush_fan_out();
  if (m.droppable()) {
    return send_droppable([&m](WorkerMessage& slot) { slot = m; },
                          m.kind != WorkerMessage::Kind::kStats);
  }
  if (backlog_.empty() && ring_.push([&m](WorkerMessage& slot) { slot = m; })) {
    queued();
    return true;
  }
  if (backlog_.size() >= kMaxBacklog) {
    ++dropped_;
    return false;
  }
  backlog_.push_back(m);
  queued();
  return true;
}

void WorkerPipe::queued() {
  if (posted_) return;
  posted_ = true;
  asio::post(producer_, [this, alive = alive_] {
    if (!*alive) return;
    posted_ = false;
    notify();
  });
}

void WorkerPipe::notify() {
  flush_fan_out();
  while (!backlog_.empty() &&
         ring_.push([this](WorkerMessage& slot) { slot = std::move(backlog_.front()); })) {
    backlog_.pop_front();
  }
  const uint64_t one = 1;
  (void)!::write(fd_, &one, sizeof one);
  if (!backlog_.empty()) {
    // The consumer is behind: try again shortly rather than spin.
    retry_.expires_after(std::chrono::milliseconds(1));
    retry_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (!ec && *alive) notify();
    });
  }
}

// ---------------------------------------------------------------------------------------------

WorkerFront::WorkerFront(asio::io_context& io, WorkerLink& link) : link_(link), stats_timer_(io) {
  link_.down.consume([this](WorkerMessage& m) { down(m); });
  link_.render = [this] {
    std::string out = render_ ? render_() : std::string();
    proto::family(out, "wzp_relay_worker_dropped_total", "counter",
                  "Datagrams dropped between worker threads: the ring toward the room logic "
                  "was full, or the connection refused one that came back.",
                  {{R"({direction="to_rooms"})", static_cast<double>(link_.up.dropped())},
                   {R"({direction="to_connection"})", static_cast<double>(refused_down_)}});
    proto::family(out, "wzp_relay_worker_routed_datagrams_total", "counter",
                  "Media datagrams a worker forwarded itself (their sender and receivers all on "
                  "it), without the room logic's worker.",
                  {{"", static_cast<double>(routed_)}});
    media_metrics(out, media_);
    return out;
  };
  snapshot();
}

WorkerFront::~WorkerFront() { link_.render = nullptr; }

void WorkerFront::send(WorkerMessage::Kind kind, uint64_t serial, std::span<const uint8_t> bytes,
                       const transport::QuicConnection* stats_of, size_t size) {
  scratch_.kind = kind;
  scratch_.conn = serial;
  scratch_.size = size;
  scratch_.bytes.assign(bytes.begin(), bytes.end());
  if (stats_of) scratch_.stats = stats_of->stats();
  link_.up.send(scratch_);
}

void WorkerFront::on_established(transport::QuicConnection& c) {
  const uint64_t serial = ++last_serial_;
  by_serial_[serial] = &c;
  serial_of_[&c] = serial;
  const std::string who =
      c.sni() + '\0' + c.remote().address().to_string() + ":" + std::to_string(c.remote().port());
  send(WorkerMessage::Kind::kEstablished, serial,
       {reinterpret_cast<const uint8_t*>(who.data()), who.size()}, &c);
}

void WorkerFront::on_datagram(transport::QuicConnection& c, std::span<const uint8_t> d) {
  const auto it = serial_of_.find(&c);
  if (it == serial_of_.end() || forward(it->second, d)) return;
  link_.up.send_droppable([&](WorkerMessage& slot) {
    slot.kind = WorkerMessage::Kind::kDatagram;
    slot.conn = it->second;
    slot.bytes.assign(d.begin(), d.end());
  });
}

// What Relay::datagram does with a member's media, for a member whose route is here: the rate
// limit, then one trunk frame naming the sender, to each receiver.
bool WorkerFront::forward(uint64_t serial, std::span<const uint8_t> d) {
  const auto r = routes_.find(serial);
  if (r == routes_.end() || d.empty() || !proto::is_media(d[0])) return false;
  const auto start = std::chrono::steady_clock::now();
  ++media_.datagrams_in;
  media_.bytes_in += d.size();
  Route& route = r->second;
  const auto now_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(start.time_since_epoch()).count());
  bool cut = false;
  if (!admit(route.bucket, route.rate, now_ms, media_.dropped_rate, media_.cut_off,
             [&] { cut = true; })) {
    if (cut) {  // worker 0 hangs up; what comes meanwhile goes to it
      const uint64_t over = route.bucket.over_rate();
      routes_.erase(r);
      send(WorkerMessage::Kind::kCutOff, serial, {}, nullptr, over);
    }
    return true;
  }
  route.active = true;
  const auto frame = TrunkBatcher::single_frame(single_, route.from, d);
  if (!frame) {
    ++media_.dropped_oversized;
    return true;
  }
  ++routed_;
  for (const uint64_t to : route.to) {
    const auto c = by_serial_.find(to);
    if (c == by_serial_.end()) continue;  // closed meanwhile: its leave reroutes the room
    if (c->second->send_datagram(*frame)) {
      ++media_.datagrams_out;
      media_.bytes_out += frame->size();
    } else {
      ++media_.dropped_send;
    }
  }
  media_.latency.observe(
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  return true;
}

void WorkerFront::on_stream(transport::QuicConnection& c, std::span<const uint8_t> d) {
  if (const auto it = serial_of_.find(&c); it != serial_of_.end()) {
    send(WorkerMessage::Kind::kStream, it->second, d, nullptr);
  }
}

void WorkerFront::on_narrow_path(transport::QuicConnection& c) {
  if (const auto it = serial_of_.find(&c); it != serial_of_.end()) {
    send(WorkerMessage::Kind::kNarrowPath, it->second, {}, &c);
  }
}

void WorkerFront::on_closed(transport::QuicConnection& c, const std::string&) {
  const auto it = serial_of_.find(&c);
  if (it == serial_of_.end()) return;
  const uint64_t serial = it->second;
  serial_of_.erase(it);
  by_serial_.erase(serial);
  routes_.erase(serial);
  send(WorkerMessage::Kind::kClosed, serial, {}, nullptr);
}

void WorkerFront::down(WorkerMessage& m) {
  if (m.kind == WorkerMessage::Kind::kRoute) {
    if (!by_serial_.count(m.conn)) return;  // closed meanwhile
    Route& r = routes_[m.conn];             // a bucket already running keeps its tokens
    r.from = m.from;
    r.to.swap(m.conns);
    r.rate = m.rate;
    return;
  }
  if (m.kind == WorkerMessage::Kind::kUnroute) {
    routes_.erase(m.conn);
    return;
  }
  if (m.kind == WorkerMessage::Kind::kSendDatagram) {
    for (const uint64_t conn : m.conns) {
      const auto it = by_serial_.find(conn);
      // A connection closed meanwhile is not counted: worker 0 hears of it.
      if (it != by_serial_.end() && !it->second->send_datagram(m.bytes)) ++refused_down_;
    }
    return;
  }
  const auto it = by_serial_.find(m.conn);
  if (it == by_serial_.end()) return;  // closed meanwhile; worker 0 hears of it
  transport::QuicConnection& c = *it->second;
  switch (m.kind) {
    case WorkerMessage::Kind::kSendStream:
      c.send_stream(m.bytes);
      break;
    case WorkerMessage::Kind::kProbeTrain:
      c.send_probe_train(m.tag, m.size);
      break;
    case WorkerMessage::Kind::kClose:
      c.close(std::string(m.bytes.begin(), m.bytes.end()));
      break;
    default:
      break;
  }
}

// What the room logic reads of a connection's transport (the path's pacer, its MTU, loss for
// the metrics) is a snapshot at most a quarter of a second old.
void WorkerFront::snapshot() {
  for (const auto& [serial, c] : by_serial_) {
    link_.up.send_droppable(
        [&, serial = serial, c = c](WorkerMessage& slot) {
          slot.kind = WorkerMessage::Kind::kStats;
          slot.conn = serial;
          slot.bytes.clear();
          slot.stats = c->stats();
          const auto r = routes_.find(serial);
          slot.size = r != routes_.end() && std::exchange(r->second.active, false) ? 1 : 0;
        },
        false);
  }
  stats_timer_.expires_after(std::chrono::milliseconds(250));
  stats_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) snapshot();
  });
}

// ---------------------------------------------------------------------------------------------

// A connection held by another worker, as the room logic sees it.
class WorkerHub::RemotePeer final : public Peer {
 public:
  RemotePeer(WorkerPipe& down, size_t worker, uint64_t conn, const transport::QuicStats& stats)
      : down_(down), worker_(worker), conn_(conn), stats_(stats) {}
  size_t worker() const { return worker_; }
  uint64_t conn() const { return conn_; }
  // A route for this connection's media to its worker: `m` (kRoute) names the receivers.
  void route(WorkerMessage m) {
    routed_ = true;
    m.kind = WorkerMessage::Kind::kRoute;
    m.conn = conn_;
    down_.send(m);
  }
  // None (kUnroute): its media goes to worker 0 again. Said once.
  void unroute() {
    if (!std::exchange(routed_, false)) return;
    WorkerMessage m;
    m.kind = WorkerMessage::Kind::kUnroute;
    m.conn = conn_;
    down_.send(m);
  }
  bool send_datagram(std::span<const uint8_t> d) override { return down_.send_datagram(conn_, d); }
  void send_signal(const proto::SignalMessage& msg) override {
    control(WorkerMessage::Kind::kSendStream, proto::frame_signal(msg));
  }
  void send_probe_train(uint8_t tag, size_t bytes) override {
    control(WorkerMessage::Kind::kProbeTrain, {}, tag, bytes);
  }
  void close(const std::string& reason) override {
    control(WorkerMessage::Kind::kClose, {reason.begin(), reason.end()});
  }
  transport::QuicStats stats() const override { return stats_; }
  void set_stats(const transport::QuicStats& s) { stats_ = s; }

 private:
  // A message that must arrive (the pipe's backlog holds it when the ring is full).
  void control(WorkerMessage::Kind kind, std::vector<uint8_t> bytes, uint8_t tag = 0,
               size_t size = 0) {
    WorkerMessage m;
    m.kind = kind;
    m.conn = conn_;
    m.bytes = std::move(bytes);
    m.tag = tag;
    m.size = size;
    down_.send(m);
  }

  WorkerPipe& down_;
  size_t worker_;
  uint64_t conn_;
  transport::QuicStats stats_;
  bool routed_ = false;
};

WorkerHub::WorkerHub(asio::io_context& home, RelayServer& relay) : home_(home), relay_(relay) {
  relay_.logic().set_route_watcher(
      [this](const std::string& room, Peer* left) { reroute(room, left); });
}

WorkerHub::~WorkerHub() { relay_.logic().set_route_watcher(nullptr); }

void WorkerHub::reroute(const std::string& room, Peer* left) {
  if (auto* gone = dynamic_cast<RemotePeer*>(left)) gone->unroute();
  for (auto& r : relay_.logic().media_routes(room)) {
    auto* from = dynamic_cast<RemotePeer*>(r.from);
    if (!from) continue;  // worker 0's own: the room logic forwards its media
    // A route only when every receiver is on the sender's worker.
    const auto here = [&](Peer* p) {
      const auto* to = dynamic_cast<RemotePeer*>(p);
      return to && to->worker() == from->worker();
    };
    if (!r.direct || !std::all_of(r.to.begin(), r.to.end(), here)) {
      from->unroute();
      continue;
    }
    WorkerMessage m;
    for (Peer* p : r.to) m.conns.push_back(static_cast<RemotePeer*>(p)->conn());
    m.from = r.id;
    m.rate = relay_.logic().rate_limit();
    from->route(std::move(m));
  }
}

WorkerLink& WorkerHub::add_worker(asio::io_context& worker) {
  links_.push_back(std::make_unique<WorkerLink>(worker, home_));
  last_text_.emplace_back();
  const size_t k = links_.size();
  links_.back()->up.consume([this, k](WorkerMessage& m) { up(k, m); });
  return *links_.back();
}

void WorkerHub::up(size_t worker, WorkerMessage& m) {
  graveyard_.clear();
  const auto key = std::make_pair(worker, m.conn);
  if (m.kind == WorkerMessage::Kind::kEstablished) {
    auto& peer = peers_[key];
    if (peer) return;  // a serial is never reused: not from a sane worker
    peer = std::make_unique<RemotePeer>(links_[worker - 1]->down, worker, m.conn, m.stats);
    const auto zero = std::find(m.bytes.begin(), m.bytes.end(), uint8_t{0});
    const std::string sni(m.bytes.begin(), zero);
    const std::string from(zero == m.bytes.end() ? zero : zero + 1, m.bytes.end());
    relay_.peer_connected(*peer, sni, from);
    return;
  }
  const auto it = peers_.find(key);
  if (it == peers_.end()) {
    if (m.kind == WorkerMessage::Kind::kDatagram) relay_.stray_datagram();
    return;
  }
  RemotePeer& p = *it->second;
  switch (m.kind) {
    case WorkerMessage::Kind::kDatagram:
      relay_.peer_datagram(p, m.bytes);
      break;
    case WorkerMessage::Kind::kStream:
      relay_.peer_stream(p, m.bytes);
      break;
    case WorkerMessage::Kind::kNarrowPath:
      p.set_stats(m.stats);
      relay_.peer_narrow_path(p);
      break;
    case WorkerMessage::Kind::kStats:
      p.set_stats(m.stats);
      if (m.size) relay_.logic().active(p);
      break;
    case WorkerMessage::Kind::kCutOff:
      relay_.logic().cut_off(p, m.size);
      break;
    case WorkerMessage::Kind::kClosed:
      relay_.peer_closed(p);
      graveyard_.push_back(std::move(it->second));
      peers_.erase(it);
      break;
    default:
      break;
  }
}

std::string WorkerHub::metrics_text(const std::string& home_text, std::chrono::milliseconds wait) {
  std::vector<std::future<std::string>> asked;
  for (auto& link : links_) {
    auto promise = std::make_shared<std::promise<std::string>>();
    asked.push_back(promise->get_future());
    asio::post(link->worker_io, [promise, &render = link->render] {
      promise->set_value(render ? render() : std::string());
    });
  }
  std::vector<std::string> texts{home_text};
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (size_t k = 0; k < asked.size(); ++k) {
    // A worker that does not answer in time (stopped, or stalled) counts with what it said last.
    if (asked[k].wait_until(deadline) == std::future_status::ready) last_text_[k] = asked[k].get();
    texts.push_back(last_text_[k]);
  }
  std::string out = proto::sum_expositions(texts);
  double dropped_down = 0, backlog = 0;
  for (const auto& link : links_) {
    dropped_down += static_cast<double>(link->down.dropped());
    backlog += static_cast<double>(link->down.backlog() + link->up.backlog());
  }
  proto::family(out, "wzp_relay_workers", "gauge",
                "Threads with an event loop and a QUIC server on the relay's port.",
                {{"", static_cast<double>(links_.size() + 1)}});
  proto::family(out, "wzp_relay_worker_remote_connections", "gauge",
                "Connections held by workers other than the room logic's (worker 0).",
                {{"", static_cast<double>(peers_.size())}});
  proto::family(out, "wzp_relay_worker_ring_full_total", "counter",
                "Datagrams toward connections on other workers dropped: their ring was full.",
                {{"", dropped_down}});
  proto::family(out, "wzp_relay_worker_backlog", "gauge",
                "Messages that must arrive waiting for room in a ring between workers.",
                {{"", backlog}});
  return out;
}

WorkerPool::WorkerPool(asio::io_context& home, RelayServer& relay, transport::QuicServer& server0,
                       const transport::TlsCertificate& cert, const transport::QuicConfig& config)
    : hub_(home, relay) {
  const size_t workers = server0.worker().count;
  for (size_t k = 1; k < workers; ++k) {
    auto& loop = *loops_.emplace_back(std::make_unique<asio::io_context>(1));
    auto& w = others_.emplace_back();
    w.front = std::make_unique<WorkerFront>(loop, hub_.add_worker(loop));
    w.server = std::make_unique<transport::QuicServer>(
        loop, server0.local_endpoint(), cert, *w.front, config,
        transport::QuicWorker{k, workers, server0.worker().placement});
    w.front->set_metrics([&s = *w.server] { return s.metrics_text("wzp_relay"); });
  }
  for (size_t k = 1; k < workers; ++k) {
    threads_.emplace_back([&loop = *loops_[k - 1], name = "wzp-worker-" + std::to_string(k)] {
      pthread_setname_np(pthread_self(), name.c_str());  // as top -H and perf show it
      auto busy = asio::make_work_guard(loop);
      loop.run();
    });
  }
}

void WorkerPool::stop_servers() {
  for (size_t k = 0; k < others_.size(); ++k) {
    asio::post(*loops_[k], [&s = *others_[k].server] { s.stop(); });
  }
}

WorkerPool::~WorkerPool() {
  for (auto& l : loops_) l->stop();
  for (auto& t : threads_) t.join();
}

}  // namespace wzp::relay
