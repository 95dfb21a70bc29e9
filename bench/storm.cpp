#include "storm.h"

#include <utility>  // before Boost.Asio (its awaitable.hpp uses std::exchange)

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "initials.h"
#include "transport/endpoint.h"

namespace wzp::bench {

void send_storm(Storm& s, const std::string& relay_addr, double seconds,
                const std::atomic<bool>& stop) {
  namespace asio = boost::asio;
  using asio::ip::udp;
  asio::io_context io;
  const udp::endpoint relay = *transport::parse_endpoint(relay_addr).endpoint;
  const auto initials = s.initials ? testing::capture_initials(
                                         io, static_cast<int>(std::min<uint64_t>(200, s.initials)))
                                   : std::vector<std::vector<uint8_t>>{};
  udp::socket junk(io, udp::endpoint(asio::ip::make_address("127.0.0.2"), 0));
  udp::socket flood(io, udp::endpoint(asio::ip::make_address("127.0.0.3"), 0));
  std::mt19937_64 rng(7 + s.garbage_sent);
  std::vector<uint8_t> buf(1400);
  constexpr int kSlices = 1000;
  const uint64_t garbage_end = s.garbage_sent + s.garbage,
                 initials_end = s.initials_sent + s.initials;
  const uint64_t garbage_from = s.garbage_sent, initials_from = s.initials_sent;
  const auto start = std::chrono::steady_clock::now();
  for (int slice = 0; slice < kSlices && !stop; ++slice) {
    const uint64_t g_due =
        garbage_from + (garbage_end - garbage_from) * static_cast<uint64_t>(slice + 1) / kSlices;
    const uint64_t i_due =
        initials_from + (initials_end - initials_from) * static_cast<uint64_t>(slice + 1) / kSlices;
    for (; s.garbage_sent < g_due; ++s.garbage_sent) {
      const size_t len = 1 + rng() % (s.garbage_sent % 10 == 0 ? 1400 : 80);
      for (size_t i = 0; i < len; i += 8) {
        const uint64_t r = rng();
        std::memcpy(&buf[i], &r, std::min<size_t>(8, len - i));
      }
      if (s.garbage_sent % 4 != 0)
        buf[0] = static_cast<uint8_t>(0x40 | (buf[0] & 0x3f));  // short header
      boost::system::error_code ec;
      junk.send_to(asio::buffer(buf.data(), len), relay, 0, ec);
    }
    for (; s.initials_sent < i_due && !initials.empty(); ++s.initials_sent) {
      boost::system::error_code ec;
      flood.send_to(asio::buffer(initials[s.initials_sent % initials.size()]), relay, 0, ec);
    }
    std::this_thread::sleep_until(start + std::chrono::microseconds(static_cast<int64_t>(
                                              seconds * 1e6 * (slice + 1) / kSlices)));
  }
}

}  // namespace wzp::bench
