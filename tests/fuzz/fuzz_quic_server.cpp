// The QUIC server's receive path fed arbitrary datagrams from one address, while a real
// client holds an established connection: nothing may crash, and that connection must stay up.
// Records are [len u16 LE][bytes].
#include <cstddef>
#include <cstdint>
#include <memory>

#include "transport/quic.h"

namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

struct Quiet : wzp::transport::QuicEvents {
  bool up = false, closed = false;
  void on_established(wzp::transport::QuicConnection&) override { up = true; }
  void on_closed(wzp::transport::QuicConnection&, const std::string&) override { closed = true; }
};

struct World {
  asio::io_context io;
  Quiet server_events, client_events;
  wzp::transport::QuicServer server{io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                    wzp::transport::generate_certificate("fuzz"), server_events};
  wzp::transport::QuicClient client{io, server.local_endpoint(), "fuzz", {}, client_events};
  World() {
    for (int i = 0; i < 500 && !client_events.up; ++i) io.run_for(std::chrono::milliseconds(5));
    if (!client_events.up) __builtin_trap();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* w = new World();  // one server and one honest connection for the whole run
  static const udp::endpoint attacker(asio::ip::make_address("127.0.0.1"), 9);
  size_t at = 0;
  while (size - at >= 2) {
    const size_t len = data[at] | data[at + 1] << 8;
    at += 2;
    if (size - at < len) break;
    w->server.handle({data + at, len}, attacker);
    at += len;
  }
  w->io.poll();
  if (w->client_events.closed) __builtin_trap();  // the honest connection was hurt
  return 0;
}
