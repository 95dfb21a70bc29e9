// Valid QUIC Initials for flood tests and the storm bench: each made by a real client that
// sends it to a socket of ours and is gone (its goodbye follows the Initial: only the first
// packet of each is kept), so every one carries its own connection ID.
#pragma once

#include <cstdint>
#include <vector>

#include "proto/room_name.h"
#include "transport/quic.h"

namespace wzp::testing {

inline std::vector<std::vector<uint8_t>> capture_initials(boost::asio::io_context& io, int n) {
  namespace asio = boost::asio;
  using asio::ip::udp;
  struct Nobody : transport::QuicEvents {
  } nobody;
  udp::socket capture(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  capture.non_blocking(true);
  std::vector<std::vector<uint8_t>> out;
  std::vector<uint8_t> buf(2048);
  for (int i = 0; i < n; ++i) {
    {
      transport::QuicClient c(io, capture.local_endpoint(), proto::room_sni("ops"), nullptr,
                              nobody);
      io.poll();
    }
    boost::system::error_code ec;
    udp::endpoint from;
    for (bool first = true;; first = false) {
      const size_t got = capture.receive_from(asio::buffer(buf), from, 0, ec);
      if (ec) break;
      if (first) out.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(got));
    }
  }
  return out;
}

}  // namespace wzp::testing
