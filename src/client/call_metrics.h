// wzp-client --metrics-file: one JSON object a second with what the status line shows, for
// machines (wzp-bench network, the demo, the tests), and the moments the first sample was
// captured and the recording's first sample played, on the machine's monotonic clock, so that a
// listener on the same machine measures mouth-to-ear delay from the two files alone.
#pragma once

#include <cstdint>
#include <string>

#include "client/room_call.h"

namespace wzp::client {

class CallMetricsLines {
 public:
  // The second's line: `elapsed_s` since the start; rates are over the second since the last
  // call (a counter lower than the last one started again: a new connection's encoder).
  std::string second(double elapsed_s, const RoomCallStatus& st);
  // {"event":..., "monotonic_ms":...}: `event` happened at monotonic_ms.
  static std::string mark(const char* event, double monotonic_ms);

 private:
  uint64_t last_bytes_ = 0, last_decoded_ = 0, last_concealed_ = 0;
};

}  // namespace wzp::client
