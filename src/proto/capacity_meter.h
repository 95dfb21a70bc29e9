// What the path can carry, seen from the receiving end: when the floor of the transit time
// (arrival minus media timestamp) climbs, a queue is building on the way, and what still
// arrives per second is the path's capacity. Pure arithmetic on the receiver's clock.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

namespace wzp::proto {

class CapacityMeter {
 public:
  static constexpr size_t kHistory = 10;            // intervals the floor is compared against
  static constexpr int64_t kQueueRiseMs = 40;       // over two intervals
  static constexpr int64_t kStandingQueueMs = 100;  // above the floor of the last kHistory

  // An authenticated datagram of `bytes` that arrived at arrival_ms with media timestamp ts_ms.
  void on_datagram(size_t bytes, uint64_t arrival_ms, uint32_t ts_ms) {
    bytes_ += bytes;
    floor_ = std::min(floor_, static_cast<int64_t>(arrival_ms) - static_cast<int64_t>(ts_ms));
  }

  // Once an interval: the capacity in kbit/s while a queue is growing or standing, else 0.
  double take(uint64_t now_ms) {
    const uint64_t elapsed = last_ms_ && now_ms > last_ms_ ? now_ms - last_ms_ : 1000;
    last_ms_ = now_ms;
    double capacity = 0;
    if (floor_ != kNone) {
      int64_t lowest = floor_;
      for (size_t i = 0; i < std::min(intervals_, kHistory); ++i) lowest = std::min(lowest, floors_[i]);
      const bool rising = intervals_ >= 2 && floor_ - floors_[(intervals_ - 2) % kHistory] > kQueueRiseMs;
      const bool standing = intervals_ >= 2 && floor_ - lowest > kStandingQueueMs;
      if (rising || standing) capacity = static_cast<double>(bytes_) * 8 / static_cast<double>(elapsed);
      floors_[intervals_++ % kHistory] = floor_;
    }
    bytes_ = 0;
    floor_ = kNone;
    return capacity;
  }

 private:
  static constexpr int64_t kNone = INT64_MAX;
  uint64_t bytes_ = 0;
  int64_t floor_ = kNone;
  std::array<int64_t, kHistory> floors_{};
  size_t intervals_ = 0;
  uint64_t last_ms_ = 0;
};

}  // namespace wzp::proto
