// What the path can carry, seen from the receiving end: when the floor of the transit time
// (arrival minus media timestamp) climbs, a queue is building on the way, and the rate at which
// packets that queued arrive (with each packet's own headers) is the path's capacity. Pure
// arithmetic on the receiver's clock.
//
// A queue is seen within the interval it starts in (the floor of the interval's second half
// above its first half's), across intervals (the floor rising from one to the next), or when
// it stands (the floor above the lowest of the last kHistory intervals). How long that
// standing queue is goes with the capacity, so that the sender can drain it, not only stop
// feeding it.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "proto/interarrival_jitter.h"

namespace wzp::proto {

// A packet's bytes on the path beside the datagrams it carries: QUIC's short header with an
// 8-byte connection ID, packet number, DATAGRAM frame headers and AEAD tag (about 30), and IPv4
// and UDP (28). Capacities and the sender's path budget count them.
inline constexpr size_t kQuicPacketBytes = 30;
inline constexpr size_t kIpUdpHeaderBytes = 28;
inline constexpr size_t kPacketOverheadBytes = kQuicPacketBytes + kIpUdpHeaderBytes;

struct CapacityReport {
  double capacity_kbps = 0;  // 0: no queue seen, the path is not what limits us
  double queue_ms = 0;       // the standing queue above the lowest floor seen lately
};

class CapacityMeter {
 public:
  static constexpr size_t kHistory = 40;            // intervals the floor is compared against
  static constexpr int64_t kQueueRiseMs = 40;       // over two intervals
  static constexpr int64_t kHalfRiseMs = 30;        // from one half of an interval to the next
  static constexpr int64_t kStandingQueueMs = 100;  // above the floor of the last kHistory
  static constexpr int64_t kDrainingMs = 20;        // a floor this much lower: draining
  // Fewer datagrams than this in an interval (a stream of comfort noise) say nothing of the path.
  static constexpr uint32_t kMinPackets = 8;
  static constexpr uint64_t kNoControl = UINT64_MAX;  // see on_datagram
  static constexpr uint32_t kTrendPackets = 8;        // a trend needs this many arrivals
  static constexpr double kTrendSpanMs = 250;         // over this long,
  static constexpr double kTrendSlope = 0.25;         // this much transit per ms of arrivals,
  static constexpr double kTrendRiseMs = 60;          // and this much added over its span

  // An authenticated datagram of `bytes` that arrived at arrival_ms with media timestamp ts_ms.
  // Its packet's own headers count too, once for datagrams that arrive in the same millisecond
  // (the relay packs what it forwards to us in one turn into one packet). `control_total`: the
  // bytes (with their IPv4/UDP headers) of every packet so far that carried no datagram
  // (signalling, acknowledgements), as the transport counts them (kNoControl: not known).
  // Those took their time on the link between our packets: a queued packet's gap includes it.
  void on_datagram(size_t bytes, uint64_t arrival_ms, uint32_t ts_ms,
                   uint64_t control_total = kNoControl) {
    if (!started_) started_ = true, start_ms_ = arrival_ms, last_arrival_ms_ = arrival_ms + 1;
    const bool new_packet = arrival_ms != last_arrival_ms_;
    uint64_t other = 0;
    if (control_total != kNoControl) {
      if (control_seen_ != kNoControl && control_total > control_seen_)
        other = control_total - control_seen_;
      control_seen_ = control_total;
    }
    // The others' rate, over the span between this interval's first datagram and its last.
    if (packets_ == 0) {
      span_from_ = arrival_ms;
    } else {
      others_ += other;
    }
    const size_t own = bytes + (new_packet ? kPacketOverheadBytes : 0);
    // The interval's own bytes only: the others are counted at the next datagram, which may be
    // in a later interval than the link time they took.
    bytes_ += own;
    const size_t on_path = own + other;
    ++packets_;
    const int64_t transit = static_cast<int64_t>(arrival_ms) - static_cast<int64_t>(ts_ms);
    // A packet that waited longer than the one before it found the link still busy with that
    // one: the time between their arrivals is its own time on the link. Over such packets the
    // link's rate shows, where the interval's bytes over its length would count the time the
    // link stood idle before the queue built. Packets without datagrams that came in between
    // (control_total) took their time on the link too: their bytes count with it.
    if (new_packet) {
      busy_packet_ = have_packet_ && transit > packet_transit_;
      if (busy_packet_) busy_ms_ += arrival_ms - last_arrival_ms_;
      have_packet_ = true;
      packet_transit_ = transit;
    }
    if (busy_packet_) busy_bytes_ += on_path;
    last_arrival_ms_ = arrival_ms;
    floor_ = std::min(floor_, transit);
    // Halves by arrival time within the interval (the first interval starts at its first datagram).
    const uint64_t from = last_ms_ ? last_ms_ : start_ms_;
    auto& half = arrival_ms - from < kHalfMs ? first_half_ : second_half_;
    half = std::min(half, transit);
    // Interarrival jitter, kept across intervals: a trend must stand out of it.
    if (have_transit_) jitter_ = next_jitter(jitter_, transit - last_transit_);
    have_transit_ = true;
    last_transit_ = transit;
    trend_.add(arrival_ms, transit);
  }

  // True while this interval's transit times climb steeply enough that a queue is filling
  // faster than it can wait for the interval's end.
  bool growing() const { return trend_rise_ms() > 0; }

  // Once an interval: the capacity while a queue is growing or standing, and that queue.
  CapacityReport take(uint64_t now_ms) {
    const uint64_t from = last_ms_ ? last_ms_ : start_ms_;
    const uint64_t elapsed = started_ && now_ms > from ? now_ms - from : 1000;
    last_ms_ = now_ms;
    CapacityReport r;
    if (floor_ != kNone) {
      int64_t lowest = floor_;
      for (size_t i = 0; i < std::min(intervals_, kHistory); ++i)
        lowest = std::min(lowest, floors_[i]);
      const bool rising =
          intervals_ >= 2 && floor_ - floors_[(intervals_ - 2) % kHistory] > kQueueRiseMs;
      const bool rising_within =
          first_half_ != kNone && second_half_ != kNone && second_half_ - first_half_ > kHalfRiseMs;
      const double trend = trend_rise_ms();
      const int64_t latest = std::max(second_half_ != kNone ? second_half_ : floor_,
                                      floor_ + static_cast<int64_t>(trend));
      // A standing queue that is draining (this interval's later floor below its earlier one, or
      // below the last interval's) is not a full link: what arrives then is what is sent, not
      // what the path could carry, and counting it would cut the sender again and again.
      const int64_t previous = intervals_ >= 1 ? floors_[(intervals_ - 1) % kHistory] : kNone;
      const bool draining = (first_half_ != kNone && second_half_ != kNone &&
                             second_half_ < first_half_ - kDrainingMs) ||
                            (previous != kNone && floor_ < previous - kDrainingMs);
      const bool standing = intervals_ >= 2 && floor_ - lowest > kStandingQueueMs;
      if (packets_ >= kMinPackets &&
          (trend > 0 || (!draining && (rising || rising_within || standing)))) {
        r.capacity_kbps =
            static_cast<double>(bytes_) * 8 / static_cast<double>(std::max<uint64_t>(elapsed, 1));
        if (busy_ms_ >= kMinBusyMs) {
          r.capacity_kbps = std::max(r.capacity_kbps, static_cast<double>(busy_bytes_) * 8 /
                                                          static_cast<double>(busy_ms_));
        }
        r.queue_ms = static_cast<double>(std::max<int64_t>(0, latest - lowest));
        // What is left for media: the link less what else it carries for good (the least of
        // the last few intervals' share, so that a join's burst of signalling, once, does not
        // count as a standing load).
        r.capacity_kbps = std::max(r.capacity_kbps - standing_others_kbps(), r.capacity_kbps / 2);
      }
      floors_[intervals_++ % kHistory] = floor_;
    }
    if (packets_ > 0 && last_arrival_ms_ >= span_from_ + kHalfMs) {
      others_kbps_[others_next_++ % others_kbps_.size()] =
          static_cast<double>(others_) * 8 / static_cast<double>(last_arrival_ms_ - span_from_);
    }
    bytes_ = busy_bytes_ = busy_ms_ = others_ = 0;
    packets_ = 0;
    floor_ = first_half_ = second_half_ = kNone;
    trend_ = {};
    return r;
  }

 private:
  double standing_others_kbps() const {
    if (others_next_ == 0) return 0;
    const size_t n = std::min(others_next_, others_kbps_.size());
    return *std::min_element(others_kbps_.begin(), others_kbps_.begin() + static_cast<long>(n));
  }
  // The delay the interval's steep trend has added over its span, or 0 without one.
  double trend_rise_ms() const {
    const double sxx = trend_.sxx(), span = trend_.span();
    if (trend_.n < kTrendPackets || span < kTrendSpanMs || sxx <= 0) return 0;
    const double slope = trend_.sxy() / sxx;
    const double sse = std::max(0.0, trend_.syy() - slope * trend_.sxy());
    const double residual = std::sqrt(sse / static_cast<double>(trend_.n - 2));
    const double se = residual / std::sqrt(sxx);
    // Clear of the noise twice over: the slope by five standard errors, and the delay it added
    // by three times the arrivals' scatter (around the line, or from one to the next over the
    // call so far: jitter of +-80 ms scatters them by about 50 ms, a queue filling behind a rate
    // cap by the few ms each packet adds).
    const bool steep = slope >= kTrendSlope && slope >= 5 * se &&
                       slope * span >= kTrendRiseMs + 3 * std::max(residual, jitter_);
    return steep ? slope * span : 0;
  }

  // Sums for a least-squares line through (arrival, transit), both relative to the first.
  struct Trend {
    uint32_t n = 0;
    uint64_t x0 = 0;
    int64_t y0 = 0;
    double x = 0, y = 0, xx = 0, xy = 0, yy = 0, last_x = 0;
    void add(uint64_t arrival_ms, int64_t transit) {
      if (n == 0) x0 = arrival_ms, y0 = transit;
      const double px = static_cast<double>(arrival_ms - x0),
                   py = static_cast<double>(transit - y0);
      ++n, x += px, y += py, xx += px * px, xy += px * py, yy += py * py, last_x = px;
    }
    double sxx() const { return xx - x * x / n; }
    double sxy() const { return xy - x * y / n; }
    double syy() const { return yy - y * y / n; }
    double span() const { return last_x; }
  };
  static constexpr int64_t kNone = INT64_MAX;
  static constexpr uint64_t kHalfMs = 500;
  static constexpr uint64_t kMinBusyMs = 100;  // of back-to-back arrivals for the link's rate
  uint64_t bytes_ = 0;
  uint64_t others_ = 0;  // bytes of packets without datagrams since the interval's first datagram
  uint64_t span_from_ = 0;
  std::array<double, 3> others_kbps_{};  // the last intervals' (of half a second or more)
  size_t others_next_ = 0;
  uint64_t control_seen_ = kNoControl;
  uint64_t busy_bytes_ = 0, busy_ms_ = 0;  // packets that queued behind the one before
  bool busy_packet_ = false, have_packet_ = false;
  int64_t packet_transit_ = 0;
  uint32_t packets_ = 0;
  int64_t floor_ = kNone, first_half_ = kNone, second_half_ = kNone;
  std::array<int64_t, kHistory> floors_{};
  size_t intervals_ = 0;
  uint64_t last_ms_ = 0;
  uint64_t last_arrival_ms_ = 0;
  bool started_ = false;
  uint64_t start_ms_ = 0;
  Trend trend_;
  double jitter_ = 0;
  bool have_transit_ = false;
  int64_t last_transit_ = 0;
};

}  // namespace wzp::proto
