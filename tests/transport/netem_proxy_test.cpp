// The impairment proxy on real UDP sockets over 127.0.0.1: a client sends through it to an
// echo server; the proxy's loss shows in what comes back, and a NAT rebinding changes the
// source port the server sees.
#include "transport/netem_proxy.h"

#include <gtest/gtest.h>

#include <poll.h>

#include <future>
#include <set>
#include <thread>

namespace wzp::transport {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

// Echoes every datagram back, remembering the source ports it saw (on the io thread).
struct Echo {
  udp::socket sock;
  udp::endpoint from;
  std::vector<uint8_t> buf = std::vector<uint8_t>(2048);
  std::vector<uint16_t> ports;  // source port of each datagram, in order
  explicit Echo(asio::io_context& io)
      : sock(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    loop();
  }
  void loop() {
    sock.async_receive_from(asio::buffer(buf), from, [this](auto ec, std::size_t n) {
      if (ec) return;
      ports.push_back(from.port());
      sock.send_to(asio::buffer(buf.data(), n), from);
      loop();
    });
  }
};

struct Harness {
  asio::io_context io;
  Echo echo{io};
  std::unique_ptr<NetemProxy> proxy;
  std::thread thread;
  explicit Harness(NetemConfig cfg) {
    cfg.listen = udp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    cfg.upstream = echo.sock.local_endpoint();
    proxy = std::make_unique<NetemProxy>(io, cfg);
    proxy->start();
    thread = std::thread([this] { io.run(); });
  }
  ~Harness() {
    proxy->stop();
    io.stop();
    thread.join();
  }
};

// Sends n numbered datagrams through the proxy (paced), returns which came back.
std::set<uint32_t> send_through(Harness& h, uint32_t n, std::chrono::microseconds gap) {
  asio::io_context cio;
  udp::socket s(cio, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  s.non_blocking(true);
  std::set<uint32_t> back;
  std::vector<uint8_t> buf(2048);
  auto drain = [&] {
    boost::system::error_code ec;
    for (;;) {
      udp::endpoint from;
      const size_t got = s.receive_from(asio::buffer(buf), from, 0, ec);
      if (ec) break;
      if (got >= 4)
        back.insert(buf[0] | buf[1] << 8 | buf[2] << 16 | static_cast<uint32_t>(buf[3]) << 24);
    }
  };
  const auto target = h.proxy->local_endpoint();
  for (uint32_t i = 0; i < n; ++i) {
    std::vector<uint8_t> d(100, 0);
    for (int b = 0; b < 4; ++b) d[b] = static_cast<uint8_t>(i >> (8 * b));
    s.send_to(asio::buffer(d), target);
    drain();
    std::this_thread::sleep_for(gap);  // pacing a sender, not synchronising a test
  }
  // The tail: wait for datagrams until nothing has come for 300 ms.
  for (;;) {
    pollfd p{s.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 300) <= 0) break;
    drain();
  }
  return back;
}

TEST(NetemProxy, ForwardsBothWaysAndAppliesLoss) {
  NetemConfig cfg;
  cfg.to_upstream.loss = 0.2;
  cfg.to_upstream.seed = 3;
  Harness h(cfg);
  const auto back = send_through(h, 5000, std::chrono::microseconds(50));
  const auto st = h.proxy->stats();
  EXPECT_EQ(st.to_upstream.received, 5000u);
  EXPECT_EQ(st.flows, 1u);
  // 20 % loss one way: 4000 +- 5 sigma (sd = 28).
  EXPECT_NEAR(static_cast<double>(back.size()), 4000, 150);
  EXPECT_EQ(back.size(), st.to_upstream.delivered);
}

TEST(NetemProxy, RebindingChangesTheSourcePortTheUpstreamSees) {
  NetemConfig cfg;
  cfg.rebind_at_ms = {300};
  Harness h(cfg);
  const auto back = send_through(h, 300, std::chrono::milliseconds(2));
  std::promise<std::vector<uint16_t>> seen;
  asio::post(h.io, [&] { seen.set_value(h.echo.ports); });  // read on the io thread
  const std::vector<uint16_t> ports = seen.get_future().get();
  ASSERT_FALSE(ports.empty());
  std::set<uint16_t> distinct(ports.begin(), ports.end());
  EXPECT_EQ(distinct.size(), 2u);  // one port before the rebinding, another after
  EXPECT_EQ(h.proxy->stats().rebinds, 1u);
  EXPECT_GT(back.size(), 290u);  // replies follow the client across the rebinding
}

}  // namespace
}  // namespace wzp::transport
