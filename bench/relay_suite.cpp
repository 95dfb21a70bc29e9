// The relay's forwarding cost: one RelayServer on its own thread (one core) with rooms of 2, 10
// and 50 QUIC members on the other, against a plain UDP reflector doing the same fan-out on its
// own thread with plain UDP members. The rate is forwarded datagrams per second of the
// forwarding thread's own CPU time (so that the load generator, which shares this machine,
// does not count); latency is from a member's send to another member's receipt, under a paced
// offered load of kOutRate forwarded datagrams per second. Then the scaling over workers: the
// same rooms on a relay with one worker and on one with two (as wzp-relay --workers 2 runs).
#include <poll.h>
#include <time.h>

#include <utility>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include "bench_member.h"
#include "proto/bytes.h"
#include "proto/room_name.h"
#include "proto/signal_framing.h"
#include "proto/trunk_frame.h"
#include "relay/relay_server.h"
#include "relay/workers.h"
#include "suites.h"
#include "transport/quic.h"

namespace wzp::bench {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;
constexpr double kOutRate = 12000;  // forwarded datagrams/s offered in every case
constexpr double kSeconds = 3.0;
constexpr size_t kPayload = 100;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
          .count());
}

// A media-looking datagram: tag 0x00, then the send time.
void stamp(std::vector<uint8_t>& d) {
  std::fill(d.begin(), d.end(), 0);
  proto::store_be64(&d[1], now_ns());
}
double age_us(std::span<const uint8_t> d) { return (now_ns() - proto::load_be64(&d[1])) / 1e3; }

struct Result {
  double forwarded = 0, cpu_s = 0, offered = 0;
  std::vector<double> latency_us;
  double per_core() const { return cpu_s > 0 ? forwarded / cpu_s : 0; }
  double pct(double p) {
    if (latency_us.empty()) return 0;
    std::sort(latency_us.begin(), latency_us.end());
    return latency_us[static_cast<size_t>(p * (latency_us.size() - 1))];
  }
};

// Paces `members` senders, each heard by `fanout` others, so that the relay forwards `rate`
// datagrams/s in all, for kSeconds, polling `io` for receipts; returns the datagrams offered.
template <class Send>
double pace(asio::io_context* io, size_t members, size_t fanout, Send send,
            const std::function<void()>& poll, double rate = kOutRate) {
  const double per_member = rate / static_cast<double>(members * fanout);
  const auto start = Clock::now();
  double credit = 0;
  double offered = 0;
  auto last = start;
  while (Clock::now() - start < std::chrono::duration<double>(kSeconds)) {
    const auto now = Clock::now();
    credit += per_member * std::chrono::duration<double>(now - last).count();
    last = now;
    while (credit >= 1) {
      for (size_t m = 0; m < members; ++m) send(m);
      offered += members;
      credit -= 1;
    }
    if (io) io->poll();
    if (poll) poll();
  }
  // Let the last ones land.
  const auto drain = Clock::now();
  while (Clock::now() - drain < std::chrono::milliseconds(200)) {
    if (io) io->run_for(std::chrono::milliseconds(5));
    if (poll) poll();
  }
  return offered;
}

struct Member : BenchMember {
  Result* result = nullptr;
  void on_datagram(transport::QuicConnection&, std::span<const uint8_t> d) override {
    std::array<proto::TrunkEntry, 16> e;
    auto n = proto::parse_trunk_frame(d, {.max_entries = 16, .max_bytes = 1500}, e);
    if (!n.ok() || !result) return;
    for (size_t i = 0; i < *n; ++i) {
      result->forwarded += 1;
      if (e[i].payload.size() >= 9) result->latency_us.push_back(age_us(e[i].payload));
    }
  }
};

// A RelayServer on a thread of its own (one core), as wzp-relay --workers N runs it: with N > 1,
// workers 1..N-1 each on a thread of their own too. CPU time is read on each worker's thread.
class RelayThread {
 public:
  explicit RelayThread(relay::RelayConfig rc, size_t workers = 1)
      : relay_(io_, id_, std::move(rc)),
        server_(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0), cert_, relay_,
                transport::QuicConfig{}, transport::QuicWorker{0, workers}),
        pool_(workers > 1 ? std::make_unique<relay::WorkerPool>(io_, relay_, server_, cert_)
                          : nullptr),
        core_([this] {
          pthread_setname_np(pthread_self(), "relay-core");
          io_.run();
        }) {}
  ~RelayThread() {
    guard_.reset();
    asio::post(io_, [this] { io_.stop(); });
    core_.join();
  }
  udp::endpoint endpoint() const { return server_.local_endpoint(); }
  // Each worker's CPU seconds so far, worker 0 first.
  std::vector<double> cpu_seconds() {
    std::vector<double> out{on_thread(io_)};
    for (size_t k = 1; pool_ && k < pool_->workers(); ++k) out.push_back(on_thread(pool_->loop(k)));
    return out;
  }
  // Connections held by workers other than worker 0.
  size_t remote_peers() {
    if (!pool_) return 0;
    std::promise<size_t> p;
    asio::post(io_, [&] { p.set_value(pool_->remote_peers()); });
    return p.get_future().get();
  }

 private:
  static double on_thread(asio::io_context& loop) {
    std::promise<double> p;
    asio::post(loop, [&] { p.set_value(thread_cpu_seconds()); });
    return p.get_future().get();
  }

  asio::io_context io_{1};  // one thread runs it, as wzp-relay's
  crypto::Identity id_ = crypto::Identity::generate();
  transport::TlsCertificate cert_ = transport::generate_certificate("bench-relay");
  relay::RelayServer relay_;
  transport::QuicServer server_;
  std::unique_ptr<relay::WorkerPool> pool_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  std::thread core_;
};

relay::RelayConfig bench_relay_config() {
  relay::RelayConfig rc;
  rc.rate = {1e9, 1e9, UINT64_MAX};
  rc.idle_timeout = std::chrono::milliseconds(0);
  rc.log = [](const std::string&) {};
  return rc;
}

// The reference: a UDP reflector on a thread of its own. A room sends each datagram to every
// other member; pairs send it to the member's partner (members pair up in the order they first
// send). Its CPU time is counted between measure(true) and measure(false).
class UdpReflector {
 public:
  enum class Fanout { kRoom, kPairs };
  explicit UdpReflector(Fanout fanout)
      : socket_(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        fanout_(fanout),
        core_([this] { loop(); }) {}
  ~UdpReflector() {
    stop_ = true;
    core_.join();
  }
  udp::endpoint endpoint() const { return socket_.local_endpoint(); }
  void measure(bool on) { measuring_ = on; }
  // After measure(false): the CPU seconds spent while measuring.
  double cpu_seconds() {
    while (cpu_ == 0) std::this_thread::yield();
    return cpu_;
  }

 private:
  void loop() {
    const int size = 8 << 20;
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    std::vector<udp::endpoint> room;
    std::map<udp::endpoint, udp::endpoint> partner;
    std::optional<udp::endpoint> waiting;
    std::vector<uint8_t> buf(2048);
    double start = 0;
    bool was = false;
    socket_.non_blocking(true);
    while (!stop_) {
      if (measuring_ && !was) start = thread_cpu_seconds(), was = true;
      if (!measuring_ && was) cpu_ = thread_cpu_seconds() - start, was = false;
      udp::endpoint from;
      boost::system::error_code ec;
      const size_t n = socket_.receive_from(asio::buffer(buf), from, 0, ec);
      if (ec) {
        pollfd pfd{socket_.native_handle(), POLLIN, 0};
        ::poll(&pfd, 1, 20);  // asleep while idle, like the relay's event loop
        continue;
      }
      if (fanout_ == Fanout::kRoom) {
        if (std::find(room.begin(), room.end(), from) == room.end()) room.push_back(from);
        for (const auto& p : room) {
          if (p != from) socket_.send_to(asio::buffer(buf.data(), n), p, 0, ec);
        }
        continue;
      }
      if (auto it = partner.find(from); it != partner.end()) {
        socket_.send_to(asio::buffer(buf.data(), n), it->second, 0, ec);
      } else if (waiting && *waiting != from) {
        partner[from] = *waiting;
        partner[*waiting] = from;
        waiting.reset();
      } else {
        waiting = from;
      }
    }
  }

  asio::io_context io_;
  udp::socket socket_;
  Fanout fanout_;
  std::atomic<bool> stop_{false}, measuring_{false};
  std::atomic<double> cpu_{0};
  std::thread core_;
};

// Plain UDP members of a reflector: each joins with one datagram; drain() waits up to 100 µs
// for receipts and records them.
struct UdpMembers {
  asio::io_context io;
  std::vector<std::unique_ptr<udp::socket>> socks;
  std::vector<pollfd> fds;
  std::vector<uint8_t> d = std::vector<uint8_t>(kPayload), buf = std::vector<uint8_t>(2048);
  udp::endpoint to;
  Result r;

  UdpMembers(size_t n, udp::endpoint reflector) : to(reflector) {
    for (size_t i = 0; i < n; ++i) {
      socks.push_back(
          std::make_unique<udp::socket>(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)));
      socks.back()->non_blocking(true);
      const int size = 4 << 20;
      setsockopt(socks.back()->native_handle(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
      fds.push_back({socks.back()->native_handle(), POLLIN, 0});
      socks.back()->send_to(asio::buffer("j", 1), to);  // join
    }
    const auto t = Clock::now();
    while (Clock::now() - t < std::chrono::milliseconds(100)) drain();
    r = {};
  }
  void send(size_t i) {
    stamp(d);
    socks[i]->send_to(asio::buffer(d), to);
  }
  void drain() {
    const timespec wait{0, 100'000};
    if (::ppoll(fds.data(), fds.size(), &wait, nullptr) <= 0) return;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      boost::system::error_code ec;
      udp::endpoint from;
      for (;;) {
        const size_t n = socks[i]->receive_from(asio::buffer(buf), from, 0, ec);
        if (ec) break;
        if (n >= 9) {
          r.forwarded += 1;
          r.latency_us.push_back(age_us(std::span(buf.data(), n)));
        }
      }
    }
  }
};

// QUIC members of `rooms` rooms (member k in room k / per_room), connected in batches as
// callers arrive (the server admits only so many handshakes from one address at a time, and
// every member here is 127.0.0.1); returns once every room is full (or 20 s passed).
std::vector<std::unique_ptr<Member>> join_rooms(asio::io_context& io, udp::endpoint relay,
                                                size_t rooms, size_t per_room) {
  constexpr size_t kBatch = 32;
  std::vector<std::unique_ptr<Member>> m;
  const size_t members = rooms * per_room;
  for (size_t i = 0; i < members; i += kBatch) {
    for (size_t k = i; k < std::min(i + kBatch, members); ++k) {
      m.push_back(std::make_unique<Member>());
      m.back()->client = std::make_unique<transport::QuicClient>(
          io, relay, proto::room_sni("bench-" + std::to_string(k / per_room)), nullptr, *m.back());
    }
    // A batch is in once every member of it has been answered.
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline && !std::all_of(m.begin() + static_cast<std::ptrdiff_t>(i),
                                                   m.end(), [](auto& x) { return x->answered; })) {
      io.run_for(std::chrono::milliseconds(2));
    }
  }
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline &&
         !std::all_of(m.begin(), m.end(), [&](auto& x) { return x->roster.size() == per_room; })) {
    io.run_for(std::chrono::milliseconds(2));
  }
  return m;
}

Result relay_case(size_t members, bool trunk) {
  Result r;
  auto rc = bench_relay_config();
  rc.trunk_clients = trunk;
  RelayThread relay(std::move(rc));
  asio::io_context io;
  auto m = join_rooms(io, relay.endpoint(), 1, members);
  for (auto& x : m) x->result = &r;
  const double cpu0 = relay.cpu_seconds()[0];
  std::vector<uint8_t> d(kPayload);
  r.offered = pace(&io, members, members - 1,
                   [&](size_t i) {
                     stamp(d);
                     m[i]->client->connection().send_datagram(d);
                   },
                   {});
  r.cpu_s = relay.cpu_seconds()[0] - cpu0;
  return r;
}

Result reflector_case(size_t members) {
  UdpReflector reflector(UdpReflector::Fanout::kRoom);
  UdpMembers u(members, reflector.endpoint());
  reflector.measure(true);
  u.r.offered = pace(
      nullptr, members, members - 1, [&](size_t i) { u.send(i); }, [&] { u.drain(); });
  reflector.measure(false);
  u.r.cpu_s = reflector.cpu_seconds();
  return u.r;
}

// The relay on `workers` workers with `rooms` rooms of `per_room` members, spread by the kernel
// over the workers as wzp-relay's are. Each worker's CPU time is read on its own thread; the
// capacity is what the relay forwards per CPU second of its busiest worker, which is what it
// forwards per second when each worker has a core of its own and the busiest one is the limit
// (this machine's two cores are shared with the load generator, so a wall-clock rate would
// measure the generator).
constexpr double kScaleRate = 24000;  // forwarded datagrams/s offered

struct WorkersResult {
  Result r;
  std::vector<double> cpu_s;  // per worker
  size_t remote = 0;          // members held by workers other than worker 0
  double capacity() const {
    const double busiest = cpu_s.empty() ? 0 : *std::max_element(cpu_s.begin(), cpu_s.end());
    return busiest > 0 ? r.forwarded / busiest : 0;
  }
};

WorkersResult workers_case(size_t workers, size_t rooms, size_t per_room) {
  WorkersResult w;
  auto rc = bench_relay_config();
  rc.max_sessions = rooms * per_room + 16;
  RelayThread relay(std::move(rc), workers);
  asio::io_context io;
  auto m = join_rooms(io, relay.endpoint(), rooms, per_room);
  for (auto& x : m) x->result = &w.r;
  w.remote = relay.remote_peers();
  const auto cpu0 = relay.cpu_seconds();
  std::vector<uint8_t> d(kPayload);
  w.r.offered = pace(
      &io, m.size(), per_room - 1,
      [&](size_t i) {
        stamp(d);
        m[i]->client->connection().send_datagram(d);
      },
      {}, kScaleRate);
  w.cpu_s = relay.cpu_seconds();
  for (size_t k = 0; k < w.cpu_s.size(); ++k) w.cpu_s[k] -= cpu0[k];
  return w;
}

// Two-party calls, as on a relay carrying many of them: `calls` rooms of two members, each
// member sending a 100-byte datagram every 20 ms, the senders' phases spread evenly. The
// forwarding thread (one core) and the load generator (the other) each report their share of
// a core over the paced seconds, so a result limited by the generator shows as such.
struct CallsResult {
  double p99_ms = 0, delivered_pct = 0, forward_busy_pct = 0, generator_busy_pct = 0;
};
constexpr double kCallFramesPerSecond = 50;

// Sends for kSeconds at kCallFramesPerSecond per member, spread evenly; returns what was sent
// and the generator thread's share of a core. Between sends it waits in `poll` (which handles
// what arrived and returns within ~100 µs), so its share is work, not spinning.
std::pair<double, double> pace_calls(size_t members, const std::function<void(size_t)>& send,
                                     const std::function<void()>& poll) {
  const double rate = kCallFramesPerSecond * static_cast<double>(members);
  const double cpu0 = thread_cpu_seconds();
  const auto start = Clock::now();
  double sent = 0;
  size_t next = 0;
  for (;;) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed >= kSeconds) break;
    while (sent < elapsed * rate) {
      send(next);
      next = (next + 1) % members;
      sent += 1;
    }
    poll();
  }
  const double busy = (thread_cpu_seconds() - cpu0) / kSeconds;
  const auto drain = Clock::now();
  while (Clock::now() - drain < std::chrono::milliseconds(200)) poll();
  return {sent, busy};
}

CallsResult calls_result(Result& r, double sent, double forward_cpu_s, double generator_busy) {
  CallsResult out;
  out.p99_ms = r.pct(0.99) / 1000;
  out.delivered_pct = sent > 0 ? 100 * r.forwarded / sent : 0;
  out.forward_busy_pct = 100 * forward_cpu_s / (kSeconds + 0.2);
  out.generator_busy_pct = 100 * generator_busy;
  return out;
}

CallsResult relay_calls_case(size_t calls) {
  auto rc = bench_relay_config();
  rc.max_sessions = calls * 2 + 16;
  RelayThread relay(std::move(rc));
  asio::io_context io;
  Result r;
  auto m = join_rooms(io, relay.endpoint(), calls, 2);
  for (auto& x : m) x->result = &r;
  const double cpu0 = relay.cpu_seconds()[0];
  std::vector<uint8_t> d(kPayload);
  const auto [sent, generator_busy] = pace_calls(
      m.size(),
      [&](size_t i) {
        stamp(d);
        m[i]->client->connection().send_datagram(d);
      },
      [&] {
        io.poll();
        io.run_one_for(std::chrono::microseconds(100));
      });
  return calls_result(r, sent, relay.cpu_seconds()[0] - cpu0, generator_busy);
}

CallsResult reflector_calls_case(size_t calls) {
  UdpReflector reflector(UdpReflector::Fanout::kPairs);
  UdpMembers u(calls * 2, reflector.endpoint());
  reflector.measure(true);
  const auto [sent, generator_busy] = pace_calls(
      u.socks.size(), [&](size_t i) { u.send(i); }, [&] { u.drain(); });
  reflector.measure(false);
  return calls_result(u.r, sent, reflector.cpu_seconds(), generator_busy);
}

}  // namespace

std::vector<Measurement> run_relay_suite() {
  std::vector<Measurement> out;
  std::vector<size_t> sizes{2, 10, 50};
  // WZP_BENCH_ROOM2 set: the room of 2 alone, five times over (the case that varies most from
  // one run to the next), and no workers.
  const bool quick = std::getenv("WZP_BENCH_ROOM2") != nullptr;
  if (quick) sizes = {2, 2, 2, 2, 2};
  for (size_t n : sizes) {
    std::fprintf(stderr, "  room of %zu: reflector, relay, relay with trunking...\n", n);
    Result ref = reflector_case(n);
    Result rel = relay_case(n, false);
    Result trk = relay_case(n, true);
    const std::string room = "room of " + std::to_string(n);
    out.push_back({"relay", room, "forwarded per core-second (ref: UDP reflector)", rel.per_core(),
                   "datagrams/s", ref.per_core(), true});
    out.push_back({"relay", room + ", trunk_clients",
                   "forwarded per core-second (ref: UDP reflector)", trk.per_core(), "datagrams/s",
                   ref.per_core(), true});
    out.push_back({"relay", room, "latency p50 (ref: UDP reflector)", rel.pct(0.5), "µs",
                   ref.pct(0.5), false});
    out.push_back({"relay", room, "latency p99 (ref: UDP reflector)", rel.pct(0.99), "µs",
                   ref.pct(0.99), false});
    out.push_back(
        {"relay", room + ", trunk_clients", "latency p50", trk.pct(0.5), "µs", {}, false});
    out.push_back(
        {"relay", room + ", trunk_clients", "latency p99", trk.pct(0.99), "µs", {}, false});
    out.push_back({"relay", room, "delivered of offered (ref: UDP reflector)",
                   100 * rel.forwarded / (rel.offered * (n - 1)), "%",
                   100 * ref.forwarded / (ref.offered * (n - 1)), true});
  }
  // Scaling over workers: the same rooms on 1 and on 2 workers, alternately, kScaleRounds
  // times; each figure is its median round (the load generator shares the cores).
  constexpr size_t kScaleRounds = 3;
  if (quick) return out;
  for (auto [rooms, per_room] : {std::pair<size_t, size_t>{200, 2}, {40, 10}}) {
    const std::string c = std::to_string(rooms) + " rooms of " + std::to_string(per_room);
    std::vector<WorkersResult> one, two;
    for (size_t round = 0; round < kScaleRounds; ++round) {
      std::fprintf(stderr, "  %s on 1 and 2 workers, round %zu of %zu...\n", c.c_str(), round + 1,
                   kScaleRounds);
      one.push_back(workers_case(1, rooms, per_room));
      two.push_back(workers_case(2, rooms, per_room));
      const auto& a = one.back();
      const auto& b = two.back();
      std::fprintf(stderr,
                   "    1 worker: %.0f forwarded, %.2f s CPU; 2 workers: %.0f forwarded, %zu of "
                   "%zu members on worker 1, CPU %.2f s + %.2f s\n",
                   a.r.forwarded, a.cpu_s[0], b.r.forwarded, b.remote, rooms * per_room, b.cpu_s[0],
                   b.cpu_s.size() > 1 ? b.cpu_s[1] : 0.0);
    }
    const auto median = [](std::vector<WorkersResult>& v) -> WorkersResult& {
      std::sort(v.begin(), v.end(),
                [](const auto& x, const auto& y) { return x.capacity() < y.capacity(); });
      return v[v.size() / 2];
    };
    WorkersResult& a = median(one);
    WorkersResult& b = median(two);
    out.push_back({"relay", c + ", 2 workers",
                   "forwarded per busiest worker's CPU second (ref: 1 worker)", b.capacity(),
                   "datagrams/s", a.capacity(), true});
    out.push_back({"relay",
                   c + ", 2 workers",
                   "members on worker 1",
                   100.0 * static_cast<double>(b.remote) / static_cast<double>(rooms * per_room),
                   "%",
                   {},
                   true});
    out.push_back({"relay", c + ", 2 workers", "latency p99 (ref: 1 worker)", b.r.pct(0.99), "µs",
                   a.r.pct(0.99), false});
  }
  return out;
}

}  // namespace wzp::bench

namespace wzp::bench {

// How many two-party calls one relay core carries with p99 forwarding latency under 5 ms (and
// everything delivered): the load grows until one of the two fails, against a UDP reflector
// pairing the same members at the same load.
std::vector<Measurement> run_calls_suite() {
  constexpr double kP99LimitMs = 5;
  std::vector<Measurement> out;
  size_t carried = 0;
  for (size_t n : {100, 200, 300, 400, 500, 600, 800}) {
    const CallsResult rel = relay_calls_case(n);
    const CallsResult ref = reflector_calls_case(n);
    std::fprintf(stderr,
                 "  %zu calls: relay p99 %.2f ms, %.1f %% delivered, core %.0f %% busy "
                 "(generator %.0f %%); reflector p99 %.2f ms, core %.0f %% busy\n",
                 n, rel.p99_ms, rel.delivered_pct, rel.forward_busy_pct, rel.generator_busy_pct,
                 ref.p99_ms, ref.forward_busy_pct);
    const std::string c = std::to_string(n) + " calls";
    out.push_back(
        {"calls", c, "latency p99 (ref: UDP reflector)", rel.p99_ms, "ms", ref.p99_ms, false});
    out.push_back({"calls", c, "forwarding core busy (ref: UDP reflector)", rel.forward_busy_pct,
                   "%", ref.forward_busy_pct, false});
    out.push_back({"calls", c, "delivered (ref: UDP reflector)", rel.delivered_pct, "%",
                   ref.delivered_pct, true});
    out.push_back({"calls", c, "load generator busy", rel.generator_busy_pct, "%", {}, false});
    const bool ok = rel.p99_ms < kP99LimitMs && rel.delivered_pct >= 99.0;
    if (!ok) break;
    carried = n;
  }
  out.push_back({"calls",
                 "one core",
                 "two-party calls with p99 < 5 ms",
                 static_cast<double>(carried),
                 "calls",
                 {},
                 true});
  return out;
}

}  // namespace wzp::bench
