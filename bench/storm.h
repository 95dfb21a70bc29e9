// A hostile network's storm at a relay: malformed datagrams from one address (random bytes,
// most shaped like QUIC short-header packets for connections that do not exist) and valid QUIC
// Initials from another (made by real clients, never finished), spread evenly over `seconds`.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace wzp::bench {

struct Storm {
  uint64_t garbage = 0, initials = 0;  // to send
  uint64_t garbage_sent = 0, initials_sent = 0;
  double rss_max_kb = 0;            // the relay's, sampled by the caller
  double dropped = 0, retries = 0;  // the relay's counters afterwards, read by the caller
};

// Sends `s.garbage` and `s.initials` to the relay at "IP:PORT" over `seconds` (from 127.0.0.2
// and 127.0.0.3), or until `stop`.
void send_storm(Storm& s, const std::string& relay_addr, double seconds,
                const std::atomic<bool>& stop);

}  // namespace wzp::bench
