// RFC 3550 §6.4.1 interarrival jitter: a running mean (gain 1/16) of how much the transit time
// changes from one packet to the next. A change over 5 s counts as 5 s (a clock step or a new
// stream, not jitter).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace wzp::proto {

inline double next_jitter(double jitter, int64_t transit_change) {
  const double d = std::min(std::abs(static_cast<double>(transit_change)), 5000.0);
  return jitter + (d - jitter) / 16;
}

}  // namespace wzp::proto
