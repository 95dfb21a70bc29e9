// The relay's forwarding cost: one RelayServer on its own thread (one core) with rooms of 2, 10
// and 50 QUIC members on the other, against a plain UDP reflector doing the same fan-out on its
// own thread with plain UDP members. The rate is forwarded datagrams per second of the
// forwarding thread's own CPU time (so that the load generator, which shares this machine,
// does not count); latency is from a member's send to another member's receipt, under a paced
// offered load of kOutRate forwarded datagrams per second.
#include <poll.h>
#include <time.h>

#include <utility>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "bench_member.h"
#include "proto/bytes.h"
#include "proto/room_name.h"
#include "proto/signal_framing.h"
#include "proto/trunk_frame.h"
#include "relay/relay_server.h"
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

// Paces `members` senders so that the room forwards kOutRate datagrams/s in all, for kSeconds,
// polling `io` for receipts; returns the datagrams offered.
template <class Send>
double pace(asio::io_context* io, size_t members, Send send, const std::function<void()>& poll) {
  const double per_member = kOutRate / (members * (members - 1));
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

Result relay_case(size_t members, bool trunk) {
  Result r;
  asio::io_context relay_io;
  const auto relay_id = crypto::Identity::generate();
  relay::RelayConfig rc;
  rc.rate = {1e9, 1e9, UINT64_MAX};
  rc.idle_timeout = std::chrono::milliseconds(0);
  rc.trunk_clients = trunk;
  rc.log = [](const std::string&) {};
  relay::RelayServer relay(relay_io, relay_id, rc);
  transport::QuicServer server(relay_io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                               transport::generate_certificate("bench-relay"), relay);
  auto guard = asio::make_work_guard(relay_io);
  std::thread core([&] {
    pthread_setname_np(pthread_self(), "relay-core");
    relay_io.run();
  });

  asio::io_context io;
  std::vector<std::unique_ptr<Member>> m;
  for (size_t i = 0; i < members; ++i) {
    m.push_back(std::make_unique<Member>());
    m.back()->client = std::make_unique<transport::QuicClient>(
        io, server.local_endpoint(), proto::room_sni("bench"), nullptr, *m.back());
  }
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline &&
         !std::all_of(m.begin(), m.end(), [&](auto& x) { return x->room_size == members; })) {
    io.run_for(std::chrono::milliseconds(5));
  }
  for (auto& x : m) x->result = &r;
  double cpu0 = 0, cpu1 = 0;
  std::promise<double> p0;
  asio::post(relay_io, [&] { p0.set_value(thread_cpu_seconds()); });
  cpu0 = p0.get_future().get();
  std::vector<uint8_t> d(kPayload);
  r.offered = pace(&io, members,
                   [&](size_t i) {
                     stamp(d);
                     m[i]->client->connection().send_datagram(d);
                   },
                   {});
  std::promise<double> p1;
  asio::post(relay_io, [&] { p1.set_value(thread_cpu_seconds()); });
  cpu1 = p1.get_future().get();
  r.cpu_s = cpu1 - cpu0;
  guard.reset();
  asio::post(relay_io, [&] { relay_io.stop(); });
  core.join();
  return r;
}

// The reference: receive a datagram, send it to every other member's address.
Result reflector_case(size_t members) {
  Result r;
  asio::io_context rio;
  udp::socket rs(rio, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto at = rs.local_endpoint();
  std::atomic<bool> stop{false};
  std::atomic<double> cpu{0};
  std::atomic<bool> measuring{false};
  std::thread core([&] {
    std::vector<udp::endpoint> peers;
    std::vector<uint8_t> buf(2048);
    double start = 0;
    bool was = false;
    rs.non_blocking(true);
    while (!stop) {
      if (measuring && !was) start = thread_cpu_seconds(), was = true;
      if (!measuring && was) cpu = thread_cpu_seconds() - start, was = false;
      udp::endpoint from;
      boost::system::error_code ec;
      const size_t n = rs.receive_from(asio::buffer(buf), from, 0, ec);
      if (ec) {
        pollfd pfd{rs.native_handle(), POLLIN, 0};
        ::poll(&pfd, 1, 20);  // asleep while idle, like the relay's event loop
        continue;
      }
      if (std::find(peers.begin(), peers.end(), from) == peers.end()) peers.push_back(from);
      for (const auto& p : peers) {
        if (p != from) rs.send_to(asio::buffer(buf.data(), n), p, 0, ec);
      }
    }
  });
  asio::io_context io;
  std::vector<std::unique_ptr<udp::socket>> socks;
  std::vector<uint8_t> d(kPayload), buf(2048);
  for (size_t i = 0; i < members; ++i) {
    socks.push_back(
        std::make_unique<udp::socket>(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)));
    socks.back()->non_blocking(true);
    const int size = 4 << 20;
    setsockopt(socks.back()->native_handle(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    socks.back()->send_to(asio::buffer("j", 1), at);  // join
  }
  auto drain = [&] {
    for (auto& s : socks) {
      boost::system::error_code ec;
      udp::endpoint from;
      for (;;) {
        const size_t n = s->receive_from(asio::buffer(buf), from, 0, ec);
        if (ec) break;
        if (n >= 9) {
          r.forwarded += 1;
          r.latency_us.push_back(age_us(std::span(buf.data(), n)));
        }
      }
    }
  };
  const auto t = Clock::now();
  while (Clock::now() - t < std::chrono::milliseconds(100)) drain();
  r.forwarded = 0;
  r.latency_us.clear();
  measuring = true;
  r.offered = pace(
      nullptr, members,
      [&](size_t i) {
        stamp(d);
        socks[i]->send_to(asio::buffer(d), at);
      },
      drain);
  measuring = false;
  while (cpu == 0) std::this_thread::yield();
  r.cpu_s = cpu;
  stop = true;
  core.join();
  return r;
}

}  // namespace

std::vector<Measurement> run_relay_suite() {
  std::vector<Measurement> out;
  for (size_t n : {2, 10, 50}) {
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
  return out;
}

}  // namespace wzp::bench
