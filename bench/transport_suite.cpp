// QUIC datagram throughput on one core (client and server in one thread over 127.0.0.1),
// next to plain UDP between two sockets in the same thread: the limit of this machine.
#include <utility>

#include <boost/asio.hpp>
#include <chrono>

#include "suites.h"
#include "transport/quic.h"

namespace wzp::bench {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;
constexpr size_t kPayload = 100;
constexpr double kSeconds = 2.0;

double plain_udp_rate() {
  asio::io_context io;
  udp::socket rx(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  udp::socket tx(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  rx.non_blocking(true);
  const auto to = rx.local_endpoint();
  std::vector<uint8_t> d(kPayload, 7), buf(2048);
  uint64_t got = 0;
  const auto start = Clock::now();
  while (Clock::now() - start < std::chrono::duration<double>(kSeconds)) {
    for (int i = 0; i < 32; ++i) tx.send_to(asio::buffer(d), to);
    boost::system::error_code ec;
    udp::endpoint from;
    while (rx.receive_from(asio::buffer(buf), from, 0, ec) > 0 && !ec) ++got;
  }
  return got / std::chrono::duration<double>(Clock::now() - start).count();
}

struct Counter : transport::QuicEvents {
  uint64_t got = 0;
  bool up = false;
  void on_datagram(transport::QuicConnection&, std::span<const uint8_t>) override { ++got; }
  void on_established(transport::QuicConnection&) override { up = true; }
};

double quic_rate() {
  asio::io_context io;
  Counter server_side, client_side;
  const auto cert = transport::generate_certificate("bench");
  transport::QuicServer server(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0), cert,
                               server_side);
  transport::QuicClient client(io, server.local_endpoint(), "bench", {}, client_side);
  while (!client_side.up) io.run_for(std::chrono::milliseconds(5));
  std::vector<uint8_t> d(kPayload, 7);
  const uint64_t base = server_side.got;
  const auto start = Clock::now();
  while (Clock::now() - start < std::chrono::duration<double>(kSeconds)) {
    for (int i = 0; i < 32; ++i) client.connection().send_datagram(d);
    io.poll();
  }
  return (server_side.got - base) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

std::vector<Measurement> run_transport_suite() {
  const double udp_rate = plain_udp_rate();
  const double quic = quic_rate();
  return {{"transport", "100-byte datagrams, one core, loopback", "QUIC datagrams (ref: plain UDP)",
           quic, "datagrams/s", udp_rate, true}};
}

}  // namespace wzp::bench
