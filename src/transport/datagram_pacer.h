// A sender's view of the queue in front of its datagrams, and what it does about one: media
// that would wait in a queue is stale by the time it plays, so past a target the sender sheds
// datagrams instead of queueing them, at a rate the path can carry.
//
// Each acknowledged datagram gives a round trip (send to acknowledgement). The queue is the
// least round trip of the last kRecentNs above the least of the last kBaseBuckets seconds: a
// minimum, because jitter scatters round trips both ways while a queue raises them all, and loss
// does not raise them at all. The target grows with the scatter from one acknowledgement to the
// next (RFC 3550's jitter of the round trips), so that a jittery path is no queue either.
//
// A queue over the target that has not fallen for kSustainNs is ours to drain (a burst of someone
// else's traffic, the signalling of a member joining, drains by itself): datagrams then go
// through a token bucket at a share of the acknowledgements' pace (a standing queue keeps the
// path busy, so the pace is the path's capacity for us); while the queue stays over the target
// and does not fall the rate is cut further; once it is under half the target the rate is back
// at most of the capacity and climbs, and the bucket opens when it is well past the capacity.
//
// Round trips show a queue as it was when their datagrams left, a queue's length late: the
// pacer is the net under a path that narrows during a call. A new path is measured before any
// media: kProbes large datagrams sent back to back (probe()) leave the narrowest link on the way
// their own size at its rate apart, and their acknowledgements come back as far apart. The
// gaps between probes that were each acknowledged on their own count (a probe lost, or whose
// acknowledgement was lost so that the next one's carried it, tells no time; see verdict() for
// a gap across a lost probe): at least two of them, one between neighbours, agreeing within
// kProbeAgree, and no probe acknowledged before an earlier one: jitter reorders and scatters.
// A lossy narrow path (10 % of packets) still leaves that in most trains of five; a train that
// loss left without enough gaps is sent again (wants_train(); kProbeTrains in all), since the
// path that loses probes is the one a wrong start hurts most: about one train in six at 10 %
// loss, which let the first second's media fill the narrow path's queue. Under
// kProbeMaxKbps that rate is the path's capacity from the start; until the train is answered (or
// kProbeWaitNs) no other datagram goes, so that none queues behind the probes on a path not yet
// known.
//
// Pure arithmetic on the caller's clock (nanoseconds); one per connection, bounded in memory.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "proto/interarrival_jitter.h"

namespace wzp::transport {

struct PacerState {
  bool limiting = false;
  double queue_ms = 0;       // the least recent round trip above the floor
  double capacity_kbps = 0;  // our datagrams acknowledged per second while the queue stood
  double rate_kbps = 0;      // what the bucket lets through while limiting
  bool measuring = false;    // a probe train is out: no other datagram goes (see probe())
};

class DatagramPacer {
 public:
  static constexpr uint64_t kMs = 1'000'000;
  static constexpr double kTargetMs = 80;           // the least queue that is shed against
  static constexpr double kJitterFactor = 3;        // the target is at least this many jitters
  static constexpr uint64_t kRecentNs = 500 * kMs;  // the queue: the least round trip this recent
  static constexpr uint32_t kRecentSamples = 4;     // ... out of at least this many
  static constexpr uint64_t kRateWindowNs = 500 * kMs;
  static constexpr uint32_t kPaceAcks = 6;
  static constexpr uint64_t kSustainNs = 300 * kMs;  // over the target and not falling this long
  static constexpr double kDrainShare = 0.75;        // of the pace, when limiting begins
  static constexpr uint64_t kCutNs = 200 * kMs;
  static constexpr double kCut = 0.85;
  static constexpr double kClimb = 1.05;
  static constexpr double kSteadyShare = 0.9;   // of the capacity, at least, once drained
  static constexpr double kReleaseShare = 1.5;  // of the capacity: the bucket limits nothing
  static constexpr double kMinRateKbps = 6;     // a 60 ms frame of Opus 6k, about
  static constexpr size_t kBaseBuckets = 10;    // one second each
  static constexpr size_t kRing = 1024;         // datagrams awaiting acknowledgement remembered
  static constexpr uint64_t kProbes = 5;
  static constexpr uint64_t kProbeGaps = 2;  // the fewest gaps a verdict needs
  static constexpr double kProbeAgree =
      0.1;  // a link spaces them alike, to the acknowledgement delay
  static constexpr double kProbeMaxKbps = 100;
  static constexpr uint64_t kProbeWaitNs = 1500 * kMs;
  static constexpr uint32_t kProbeTrains = 3;  // trains at most, while loss leaves no verdict
  static constexpr double kLateAck = 3;        // a last gap this many times the others': see poll()
  static constexpr uint64_t kLateFloorNs = 20 * kMs;  // the least gap poll() reckons with

  // A datagram `id` of `bytes` on the wire (its share of the packet's headers included) sent.
  void sent(uint64_t id, size_t bytes, uint64_t now) {
    ring_[id % kRing] = {id, now, static_cast<uint32_t>(bytes)};
  }
  // Declared lost by the transport: no acknowledgement will come (a probe train ends).
  // Returns true, as acked() does, when that leaves a train's verdict that a limit begins.
  bool lost(uint64_t id, uint64_t now) {
    if (ring_[id % kRing].id == id) ring_[id % kRing].bytes = 0;
    if (train_.first == kNone || id < train_.first || id >= train_.first + kProbes) return false;
    train_.at[id - train_.first] = kNone;
    return answer(id) && verdict(now);
  }

  // When the train's unanswered tail is taken as lost (see poll); UINT64_MAX: no such moment.
  uint64_t deadline() const {
    // Only a tail: every probe up to the last answered one is answered.
    if (train_.first == kNone || (train_.mask & (train_.mask + 1)) != 0) return kNone;
    uint64_t last = 0, gap = 0;
    uint32_t acked = 0;
    for (uint64_t i = 0; i < kProbes && (train_.mask >> i & 1); ++i) {
      if (train_.at[i] == kNone) continue;
      if (acked++ > 0) gap = std::max(gap, train_.at[i] - last);
      last = train_.at[i];
    }
    if (acked < 2) return kNone;
    return last +
           static_cast<uint64_t>(kLateAck * static_cast<double>(std::max(gap, kLateFloorNs)));
  }
  // The last probes' acknowledgements, lost, are carried by whatever the peer acknowledges
  // next, which may be probe timeouts later (nothing else is sent meanwhile): once the answered
  // head of the train is kLateAck of its largest gaps old, the tail counts as lost and the
  // verdict is taken. True, as acked(), when that begins a limit.
  bool poll(uint64_t now) {
    if (now < deadline()) return false;
    for (uint64_t i = 0; i < kProbes; ++i) {
      if (train_.mask >> i & 1) continue;
      train_.at[i] = kNone;
      ring_[(train_.first + i) % kRing].bytes = 0;  // a late acknowledgement is no round trip
    }
    return verdict(now);
  }

  // The datagrams `first` to `first + kProbes - 1`, queued back to back at `now`, are a probe
  // train (see above).
  void probe(uint64_t first, uint64_t now) {
    train_ = {first, now, {}, 0, 0};
    ++trains_;
    again_ = false;
  }
  // Whether the train that just ended should be sent again (asked once per such train).
  bool wants_train() { return std::exchange(again_, false); }
  bool probing(uint64_t now) const {
    return train_.first != kNone && now < train_.since + kProbeWaitNs;
  }

  // Its acknowledgement. Returns true when the pacer has just begun limiting (the capacity is new).
  bool acked(uint64_t id, uint64_t now) {
    auto& s = ring_[id % kRing];
    if (s.bytes == 0 || s.id != id || now < s.at) return false;
    const uint64_t sample = now - s.at;
    const uint32_t bytes = std::exchange(s.bytes, 0);
    if (train_.first != kNone && id >= train_.first && id < train_.first + kProbes)
      return answered(id, bytes, now);
    // The floor: the least round trip per second over the last kBaseBuckets seconds.
    const uint64_t second = now / (1000 * kMs);
    if (second != base_second_) {
      for (uint64_t k = base_second_ + 1; k <= second && k <= base_second_ + kBaseBuckets; ++k) {
        base_[k % kBaseBuckets] = kNone;
      }
      base_second_ = second;
    }
    base_[second % kBaseBuckets] = std::min(base_[second % kBaseBuckets], sample);
    // The scatter from one acknowledgement to the next: datagrams acknowledged together (one
    // ACK frame) differ only by when they were sent, which would hide the path's jitter.
    if (!have_last_ || now - last_ack_at_ >= kMs) {
      if (have_last_) {
        jitter_ = proto::next_jitter(
            jitter_, (static_cast<int64_t>(sample) - static_cast<int64_t>(last_sample_)) /
                         static_cast<int64_t>(kMs));
      }
      have_last_ = true;
      last_sample_ = sample;
      last_ack_at_ = now;
    }
    recent_[recent_next_++ % recent_.size()] = {now, sample};
    acks_[acks_next_++ % acks_.size()] = {now, bytes};
    uint64_t least = kNone;
    uint32_t count = 0;
    for (const auto& r : recent_) {
      if (r.sample != kNone && r.at <= now && r.at + kRecentNs >= now)
        least = std::min(least, r.sample), ++count;
    }
    if (count >= kRecentSamples) state_.queue_ms = static_cast<double>(least - floor()) / kMs;
    const double target = target_ms();
    const bool over = state_.queue_ms > target;
    // A standing queue keeps the path busy: the pace is its capacity for us. Not while shedding,
    // when the pace is only what the bucket let through.
    if (over && !state_.limiting) {
      if (const double pace = ack_kbps(now); pace > 0) state_.capacity_kbps = pace;
    }
    if (!over) {
      over_since_ = 0;
    } else if (over_since_ == 0) {
      over_since_ = now, over_queue_ms_ = state_.queue_ms;
    }
    const bool sustained =
        over && now - over_since_ >= kSustainNs && state_.queue_ms >= over_queue_ms_;
    bool began = false;
    if (sustained && state_.capacity_kbps > 0 && !state_.limiting) {
      began = true;
      state_.limiting = true;
      state_.rate_kbps = kDrainShare * state_.capacity_kbps;
      tokens_ = 0, refilled_ = now, last_cut_ = now, cut_queue_ms_ = state_.queue_ms;
    } else if (state_.limiting && now - last_cut_ >= kCutNs) {
      if (over && state_.queue_ms > 0.9 * cut_queue_ms_) {
        state_.rate_kbps = std::max(kMinRateKbps, kCut * state_.rate_kbps);
      } else if (state_.queue_ms < target / 2) {
        state_.rate_kbps = std::max(state_.rate_kbps * kClimb, kSteadyShare * state_.capacity_kbps);
        if (state_.rate_kbps >= kReleaseShare * state_.capacity_kbps) state_.limiting = false;
      }
      last_cut_ = now, cut_queue_ms_ = state_.queue_ms;
    }
    return began;
  }

  // Whether a datagram of `bytes` may go now (false: shed it). Probes always go.
  bool admit(size_t bytes, uint64_t now, bool probe = false) {
    if (probe) return true;
    if (probing(now)) return false;
    if (!state_.limiting) return true;
    if (now > refilled_) {
      tokens_ += state_.rate_kbps * 1000 / 8 * static_cast<double>(now - refilled_) / 1e9;
      refilled_ = now;
    }
    // A burst of two datagrams at most (a frame and its repair), however long the pause.
    tokens_ = std::min(tokens_, 2.0 * static_cast<double>(bytes));
    if (tokens_ < static_cast<double>(bytes)) return false;
    tokens_ -= static_cast<double>(bytes);
    return true;
  }

  const PacerState& state() const { return state_; }
  double target_ms() const { return std::max(kTargetMs, kJitterFactor * jitter_); }

 private:
  // A probe's acknowledgement; the train's verdict once every probe is acknowledged or lost.
  bool answered(uint64_t id, uint32_t bytes, uint64_t now) {
    train_.at[id - train_.first] = now;
    train_.bytes = bytes;
    return answer(id) && verdict(now);
  }
  // Probe `id` answered (acknowledged or lost): whether that was the train's last.
  bool answer(uint64_t id) {
    train_.mask |= 1u << (id - train_.first);
    return std::popcount(train_.mask) == kProbes;
  }
  bool verdict(uint64_t now) {
    train_.first = kNone;
    const auto& at = train_.at;
    double gaps[kProbes - 1], most = 0, sum = 0;
    bool next_door[kProbes - 1];
    size_t n = 0;
    uint64_t latest = 0;
    for (uint64_t i = 0; i < kProbes; ++i) {
      if (at[i] == kNone) continue;
      if (at[i] < latest) return false;  // acknowledged before an earlier probe: reordered
      latest = at[i];
    }
    // A probe acknowledged together with the next one acknowledged (within a millisecond) had
    // its own acknowledgement lost: its time is that one's.
    const auto own = [&](uint64_t i) {
      if (at[i] == kNone) return false;
      for (uint64_t j = i + 1; j < kProbes; ++j) {
        if (at[j] != kNone) return at[j] >= at[i] + kMs;
      }
      return true;
    };
    // Gaps between a probe and the next one acknowledged, each with a time of its own. Probes
    // lost between them took no time on the narrow link if they were lost before it, as random
    // loss on the way in is: such a gap counts as one, provided a gap between neighbours agrees
    // with it (lost after the link, it spans several and disagrees).
    bool neighbours = false;
    for (uint64_t i = 0; i < kProbes; ++i) {
      if (!own(i)) continue;
      uint64_t j = i + 1;
      while (j < kProbes && at[j] == kNone) ++j;
      if (j == kProbes || !own(j)) continue;
      next_door[n] = j == i + 1;
      gaps[n++] = static_cast<double>(at[j] - at[i]);
    }
    // The last probe's acknowledgement, lost, is carried by whatever the peer acknowledges
    // next, which may be a probe timeout later (nothing else is sent meanwhile): a last gap far
    // over the others is that, not the link, and tells nothing.
    if (n > 1 && gaps[n - 1] > kLateAck * *std::max_element(gaps, gaps + n - 1)) --n;
    for (size_t i = 0; i < n; ++i) {
      neighbours = neighbours || next_door[i];
      most = std::max(most, gaps[i]);
      sum += gaps[i];
    }
    // No verdict. Worth another train when loss was in this one (a probe lost, or
    // acknowledgements lost so that later ones carried them, which leaves probes acknowledged
    // apart as well): too few gaps left, or gaps that loss on the way back bunched. Not when
    // the path is wide (every probe acknowledged at once) or jitter alone scattered them, nor
    // when fewer than two came back (a path losing most packets: each train would hold media
    // back for kProbeWaitNs again, for a verdict as unlikely).
    const auto inconclusive = [&] {
      bool lost = false, shared = false;
      uint32_t back = 0;
      uint64_t first_back = kNone;  // acknowledged in order (checked above): first and last
      for (uint64_t i = 0; i < kProbes; ++i) {
        lost = lost || at[i] == kNone;
        if (at[i] == kNone) continue;
        ++back;
        first_back = std::min(first_back, at[i]);
        shared = shared || !own(i);
      }
      const bool apart = back >= 2 && latest >= first_back + kMs;
      again_ =
          (lost || (shared && apart)) && back >= 2 && trains_ < kProbeTrains && !state_.limiting;
      return false;
    };
    if (n < kProbeGaps || !neighbours || train_.bytes == 0) return inconclusive();
    for (size_t i = 0; i < n; ++i) {
      if (gaps[i] < (1 - kProbeAgree) * most) return inconclusive();
    }
    const double kbps =
        static_cast<double>(train_.bytes) * 8 / (sum / static_cast<double>(n) / 1e6);
    if (kbps >= kProbeMaxKbps || state_.limiting) return false;
    state_.capacity_kbps = kbps;
    state_.limiting = true;
    state_.rate_kbps = kSteadyShare * kbps;
    tokens_ = 0, refilled_ = now, last_cut_ = now, cut_queue_ms_ = state_.queue_ms;
    return true;
  }

  static constexpr uint64_t kNone = UINT64_MAX;
  uint64_t floor() const {
    uint64_t f = kNone;
    for (uint64_t b : base_) f = std::min(f, b);
    return f;
  }
  // Our datagrams' bytes acknowledged over the last kRateWindowNs, in kbit/s; 0 with fewer than
  // kPaceAcks of them or over less than half the window (too few to tell).
  double ack_kbps(uint64_t now) const {
    uint64_t bytes = 0, first = now, first_bytes = 0;
    uint32_t n = 0;
    for (const auto& a : acks_) {
      if (a.bytes == 0 || a.at > now || a.at + kRateWindowNs < now) continue;
      bytes += a.bytes, ++n;
      if (a.at < first) first = a.at, first_bytes = a.bytes;
    }
    if (n < kPaceAcks || now - first < kRateWindowNs / 2) return 0;
    // The first acknowledgement opens the span: its bytes were delivered before it.
    return static_cast<double>(bytes - first_bytes) * 8 / (static_cast<double>(now - first) / 1e6);
  }

  struct Sent {
    uint64_t id = 0, at = 0;
    uint32_t bytes = 0;  // 0: nothing awaited here
  };
  struct Sample {
    uint64_t at = 0, sample = kNone;
  };
  struct Ack {
    uint64_t at = 0;
    uint32_t bytes = 0;
  };
  std::array<Sent, kRing> ring_{};
  std::array<uint64_t, kBaseBuckets> base_ = [] {
    std::array<uint64_t, kBaseBuckets> a{};
    a.fill(kNone);
    return a;
  }();
  uint64_t base_second_ = 0;
  std::array<Sample, 64> recent_{};
  size_t recent_next_ = 0;
  std::array<Ack, 128> acks_{};
  size_t acks_next_ = 0;
  double jitter_ = 0;
  bool have_last_ = false;
  uint64_t last_sample_ = 0, last_ack_at_ = 0;
  PacerState state_;
  double tokens_ = 0;
  uint64_t refilled_ = 0, last_cut_ = 0, over_since_ = 0;
  double cut_queue_ms_ = 0, over_queue_ms_ = 0;
  uint32_t trains_ = 0;  // sent on this connection
  bool again_ = false;
  struct Train {
    uint64_t first = kNone, since = 0;
    std::array<uint64_t, kProbes> at{};
    uint32_t bytes = 0;
    uint32_t mask = 0;  // probes answered: acknowledged or lost
  } train_;
};

}  // namespace wzp::transport
