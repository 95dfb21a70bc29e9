// The one-line call status a terminal shows in place, once a second. It says only what is
// known: no round-trip time before QUIC has measured one, no "heard" share or playout delay
// before anything was decoded, reconnects only once there was one. A typical line fits 80
// columns; on a terminal the caller cuts it to the terminal's width so it never wraps (a
// wrapped line breaks the in-place update).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace wzp::client {

struct StatusView {
  double elapsed_s = 0;
  std::string state;  // connected, reconnecting, registered, ...
  size_t others = 0;  // members besides us
  std::string codec;  // what we send
  double loss_percent = 0;
  double rtt_ms = 0;                    // 0: not measured yet
  uint32_t delay_ms = 0;                // playout delay
  uint64_t decoded = 0, concealed = 0;  // playout slots
  uint32_t reconnects = 0;
  bool sending = false;  // we send audio of our own (the meter is shown)
  double level = 0;      // its level, 0..32768
};

// `width` 0: the whole line.
std::string status_line(const StatusView& v, size_t width = 0);

}  // namespace wzp::client
