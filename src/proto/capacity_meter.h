// What the path can carry, seen from the receiving end: when the floor of the transit time
// (arrival minus media timestamp) climbs, a queue is building on the way, and what still
// arrives per second (with each packet's own headers) is the path's capacity. Pure arithmetic
// on the receiver's clock.
//
// A queue is seen within the interval it starts in (the floor of the interval's second half
// above its first half's), across intervals (the floor rising from one to the next), or when
// it stands (the floor above the lowest of the last kHistory intervals). How long that
// standing queue is goes with the capacity, so that the sender can drain it, not only stop
// feeding it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

namespace wzp::proto {

// A packet's bytes on the path beside the datagrams it carries: QUIC's short header with an
// 8-byte connection ID, packet number, DATAGRAM frame headers and AEAD tag (about 30), and IPv4
// and UDP (28). Capacities and the sender's path budget count them.
inline constexpr size_t kQuicPacketBytes = 30;
inline constexpr size_t kPacketOverheadBytes = kQuicPacketBytes + 28;

struct CapacityReport {
  double capacity_kbps = 0;  // 0: no queue seen, the path is not what limits us
  double queue_ms = 0;       // the standing queue above the lowest floor seen lately
};

class CapacityMeter {
 public:
  static constexpr size_t kHistory = 10;            // intervals the floor is compared against
  static constexpr int64_t kQueueRiseMs = 40;       // over two intervals
  static constexpr int64_t kHalfRiseMs = 30;        // from one half of an interval to the next
  static constexpr int64_t kStandingQueueMs = 100;  // above the floor of the last kHistory

  // An authenticated datagram of `bytes` that arrived at arrival_ms with media timestamp ts_ms.
  // Its packet's own headers count too, once for datagrams that arrive in the same millisecond
  // (the relay packs what it forwards to us in one turn into one packet).
  void on_datagram(size_t bytes, uint64_t arrival_ms, uint32_t ts_ms) {
    if (!started_) started_ = true, start_ms_ = arrival_ms, last_arrival_ms_ = arrival_ms + 1;
    bytes_ += bytes + (arrival_ms != last_arrival_ms_ ? kPacketOverheadBytes : 0);
    last_arrival_ms_ = arrival_ms;
    const int64_t transit = static_cast<int64_t>(arrival_ms) - static_cast<int64_t>(ts_ms);
    floor_ = std::min(floor_, transit);
    // Halves by arrival time within the interval (the first interval starts at its first datagram).
    const uint64_t from = last_ms_ ? last_ms_ : start_ms_;
    auto& half = arrival_ms - from < kHalfMs ? first_half_ : second_half_;
    half = std::min(half, transit);
  }

  // Once an interval: the capacity while a queue is growing or standing, and that queue.
  CapacityReport take(uint64_t now_ms) {
    const uint64_t from = last_ms_ ? last_ms_ : start_ms_;
    const uint64_t elapsed = started_ && now_ms > from ? now_ms - from : 1000;
    last_ms_ = now_ms;
    CapacityReport r;
    if (floor_ != kNone) {
      int64_t lowest = floor_;
      for (size_t i = 0; i < std::min(intervals_, kHistory); ++i) lowest = std::min(lowest, floors_[i]);
      const bool rising = intervals_ >= 2 && floor_ - floors_[(intervals_ - 2) % kHistory] > kQueueRiseMs;
      const bool rising_within = first_half_ != kNone && second_half_ != kNone &&
                                 second_half_ - first_half_ > kHalfRiseMs;
      const int64_t latest = second_half_ != kNone ? second_half_ : floor_;
      const bool standing = intervals_ >= 2 && floor_ - lowest > kStandingQueueMs;
      if (rising || rising_within || standing) {
        r.capacity_kbps = static_cast<double>(bytes_) * 8 / static_cast<double>(std::max<uint64_t>(elapsed, 1));
        r.queue_ms = static_cast<double>(std::max<int64_t>(0, latest - lowest));
      }
      floors_[intervals_++ % kHistory] = floor_;
    }
    bytes_ = 0;
    floor_ = first_half_ = second_half_ = kNone;
    return r;
  }

 private:
  static constexpr int64_t kNone = INT64_MAX;
  static constexpr uint64_t kHalfMs = 500;
  uint64_t bytes_ = 0;
  int64_t floor_ = kNone, first_half_ = kNone, second_half_ = kNone;
  std::array<int64_t, kHistory> floors_{};
  size_t intervals_ = 0;
  uint64_t last_ms_ = 0;
  uint64_t last_arrival_ms_ = 0;
  bool started_ = false;
  uint64_t start_ms_ = 0;
};

}  // namespace wzp::proto
