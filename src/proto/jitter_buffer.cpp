#include "proto/jitter_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "proto/interarrival_jitter.h"

namespace wzp::proto {
namespace {

// a is before b in 32-bit serial arithmetic.
bool before(uint32_t a, uint32_t b) { return static_cast<int32_t>(b - a) > 0; }

// The transit base is the smallest transit of the last kBaseWindowMs (as NetEq measures
// relative delay against the fastest packet of the last 2 s): a queue that stands on the path
// becomes part of the base within that time instead of counting as jitter for as long as the
// arrival history remembers it, a queue that drains lowers it at once, and drift between the
// two clocks is followed as it goes. Kept as minima of kBaseBuckets slices.
constexpr uint64_t kBaseWindowMs = 2000;
// Direct arrivals needed before the histogram is believed over start_delay_ms.
constexpr uint64_t kMinSamples = 25;
// A gap this long between the playout position and what is buffered is a new stream (the
// sender restarted its clock), not loss: playout jumps to it.
constexpr uint32_t kRestartGapMs = 3000;
// How long a lower target must last before the buffer follows it down.
constexpr uint64_t kTargetHoldMs = 500;
// Steps between two dropped speech frames (0.5 s).
constexpr uint32_t kSpeechDropInterval = 25;

}  // namespace

JitterBuffer::JitterBuffer(const JitterConfig& config)
    : config_(config),
      slots_(config.capacity),
      storage_(static_cast<size_t>(config.capacity) * config.max_frame_bytes),
      last_duration_(config.frame_ms) {}

void JitterBuffer::reset() {
  for (auto& s : slots_) s.used = false;
  count_ = 0;
  started_ = false;
  have_base_ = false;
  base_buckets_ = {};
  jitter_ = 0;
  arrivals_ = {};
  direct_ = 0;
  recoveries_ = {};
  since_adapt_ = 0;
  held_target_ = 0;
  held_since_ms_ = 0;
}

uint32_t JitterBuffer::target_delay_ms() const {
  double target = 0;
  size_t n = 0;
  for (const auto& a : arrivals_) {
    if (a.at && a.at + config_.jitter_window_ms >= last_arrival_) scratch_[n++] = a.delay;
  }
  if (n > 0) {
    const auto k = std::min(n - 1, static_cast<size_t>(config_.quantile * static_cast<double>(n)));
    std::nth_element(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(k),
                     scratch_.begin() + static_cast<std::ptrdiff_t>(n));
    target = scratch_[k] + config_.margin_ms;
  }
  // While loss goes on (a frame rebuilt within recovery_window_ms), the target covers the
  // `recovery_quantile` of every frame's availability, direct and rebuilt, over the jitter
  // window: the rare frame rebuilt after a long burst is conceded rather than
  // holding the whole call that much later for seconds.
  uint64_t latest = 0;
  for (const auto& r : recoveries_) latest = std::max(latest, r.at);
  if (latest && latest + config_.recovery_window_ms >= last_arrival_) {
    size_t m = 0;
    for (const auto& a : arrivals_) {
      if (a.at && a.at + config_.jitter_window_ms >= last_arrival_) scratch_[m++] = a.delay;
    }
    for (const auto& r : recoveries_) {
      if (r.at && r.at + config_.jitter_window_ms >= last_arrival_) scratch_[m++] = r.delay;
    }
    const auto k =
        std::min(m - 1, static_cast<size_t>(config_.recovery_quantile * static_cast<double>(m)));
    std::nth_element(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(k),
                     scratch_.begin() + static_cast<std::ptrdiff_t>(m));
    target = std::max(target, static_cast<double>(scratch_[k]));
  }
  if (direct_ < kMinSamples) target = std::max(target, static_cast<double>(config_.start_delay_ms));
  return std::clamp(static_cast<uint32_t>(std::lround(target)), config_.min_delay_ms,
                    config_.max_delay_ms);
}

uint32_t JitterBuffer::buffered_ms() const {
  if (count_ == 0 || !started_) return 0;
  return before(play_ts_, newest_end_) ? newest_end_ - play_ts_ : 0;
}

// How long after its fastest possible arrival the frame at the playout position plays now: the
// media time due now (our clock less the transit base) against the playout position, in serial
// arithmetic so that the 32-bit timestamp wrap is harmless.
int64_t JitterBuffer::playout_delay(uint64_t now_ms) const {
  const auto due =
      static_cast<uint32_t>(static_cast<int64_t>(std::floor(static_cast<double>(now_ms) - base_)));
  return static_cast<int32_t>(due - play_ts_);
}

JitterBuffer::Slot* JitterBuffer::find(uint32_t ts) {
  for (auto& s : slots_) {
    if (s.used && s.ts == ts) return &s;
  }
  return nullptr;
}

JitterBuffer::Slot* JitterBuffer::earliest() {
  Slot* best = nullptr;
  for (auto& s : slots_) {
    if (s.used && (!best || before(s.ts, best->ts))) best = &s;
  }
  return best;
}

void JitterBuffer::remove(Slot& s) {
  s.used = false;
  --count_;
}

std::span<const uint8_t> JitterBuffer::bytes(const Slot& s) const {
  const size_t i = static_cast<size_t>(&s - slots_.data());
  return {&storage_[i * config_.max_frame_bytes], s.len};
}

void JitterBuffer::note_arrival(uint32_t ts, uint64_t arrival_ms, bool recovered) {
  // Transit on an unwrapped timeline: the timestamp is placed nearest the previous transit.
  int64_t transit = static_cast<int64_t>(arrival_ms) - static_cast<int64_t>(ts);
  if (have_base_) {
    const int64_t wrap = int64_t{1} << 32;
    while (transit - last_transit_ > wrap / 2) transit -= wrap;
    while (last_transit_ - transit > wrap / 2) transit += wrap;
  }
  last_arrival_ = std::max(last_arrival_, arrival_ms);
  if (!recovered) {
    // Interarrival jitter (RFC 3550 §6.4.1), for reports.
    if (have_base_) jitter_ = next_jitter(jitter_, transit - last_transit_);
    const double t = static_cast<double>(transit);
    const uint64_t slice = arrival_ms / (kBaseWindowMs / kBaseBuckets);
    auto& b = base_buckets_[slice % kBaseBuckets];
    if (!b.used || b.slice != slice) b = {true, slice, transit};
    b.min = std::min(b.min, transit);
    base_ = t;
    for (const auto& o : base_buckets_) {
      if (o.used && o.slice + kBaseBuckets > slice && o.slice <= slice)
        base_ = std::min(base_, static_cast<double>(o.min));
    }
    // A base that rose (a queue that has come to stand is the path's delay now, not jitter the
    // buffer must wait out again) lowers the delays remembered against a lower one; one that
    // falls (a queue draining) leaves them, so that they never grow back.
    if (have_base_ && base_ > risen_to_) {
      for (std::span<Arrival> list :
           {std::span<Arrival>(arrivals_), std::span<Arrival>(recoveries_)}) {
        for (auto& a : list) {
          if (!a.at || a.base >= base_) continue;
          a.delay -= static_cast<uint32_t>(std::min<double>(a.delay, std::floor(base_ - a.base)));
          a.base = base_;
        }
      }
    }
    risen_to_ = base_;
    have_base_ = true;
    last_transit_ = transit;
  }
  if (!have_base_) return;  // a recovered frame before any direct one: nothing to measure by
  const double delay = std::max(0.0, static_cast<double>(transit) - base_);
  if (recovered) {
    recoveries_[recovery_next_++ % kRecoveries] = {
        std::max<uint64_t>(arrival_ms, 1), static_cast<uint32_t>(std::lround(delay)), base_};
    return;
  }
  arrivals_[arrival_next_++ % kArrivals] = {std::max<uint64_t>(arrival_ms, 1),
                                            static_cast<uint32_t>(std::lround(std::ceil(delay))),
                                            base_};
  ++direct_;
}

JitterBuffer::Put JitterBuffer::put(uint32_t ts, std::span<const uint8_t> frame,
                                    uint32_t duration_ms, uint64_t arrival_ms, bool silence,
                                    bool recovered) {
  if (frame.size() > config_.max_frame_bytes) return Put::kTooLarge;
  // A late frame still says how late frames come: it counts towards the target.
  note_arrival(ts, arrival_ms, recovered);
  stats_.jitter_ms = jitter_;
  if (started_ && before(ts, play_ts_)) {
    ++stats_.late;
    return Put::kLate;
  }
  if (find(ts)) {
    ++stats_.duplicates;
    return Put::kDuplicate;
  }
  if (count_ == config_.capacity) {
    // Overrun: the oldest frame makes room and playout jumps past it.
    Slot* old = earliest();
    if (started_) play_ts_ = old->ts + old->duration;
    remove(*old);
    ++stats_.overruns;
  }
  Slot* slot = nullptr;
  for (auto& s : slots_) {
    if (!s.used) {
      slot = &s;
      break;
    }
  }
  slot->used = true;
  slot->ts = ts;
  slot->duration = duration_ms;
  slot->len = static_cast<uint32_t>(frame.size());
  slot->silence = silence;
  std::memcpy(&storage_[static_cast<size_t>(slot - slots_.data()) * config_.max_frame_bytes],
              frame.data(), frame.size());
  ++count_;
  ++stats_.received;
  const uint32_t end = ts + duration_ms;
  if (stats_.received == 1 || before(newest_end_, end)) newest_end_ = end;
  return Put::kAccepted;
}

JitterBuffer::Step JitterBuffer::pop(uint64_t now_ms) {
  // A target that falls is followed only once it has stayed lower for kTargetHoldMs: the
  // quantiles wander as single frames enter and leave the window, and every step down and
  // back up costs a dropped and a stretched frame.
  const uint32_t fresh = target_delay_ms();
  if (fresh >= held_target_ || now_ms >= held_since_ms_ + kTargetHoldMs) {
    held_target_ = fresh;
    held_since_ms_ = now_ms;
  }
  const auto target = static_cast<int64_t>(held_target_);
  stats_.target_delay_ms = static_cast<uint32_t>(target);
  if (!started_) {
    Slot* first = earliest();
    if (!first || !have_base_) return {};
    play_ts_ = first->ts;
    if (playout_delay(now_ms) < target) return {};  // not due yet
    started_ = true;
  }
  ++since_adapt_;
  int64_t delay = playout_delay(now_ms);
  Slot* next = find(play_ts_);
  if (!next && count_ > 0) {
    Slot* e = earliest();
    if (e->ts - play_ts_ > kRestartGapMs) {
      play_ts_ = e->ts;
      next = e;
      delay = playout_delay(now_ms);
    }
  }
  const int64_t unit = std::max(config_.frame_ms, last_duration_);
  const bool may_adapt = since_adapt_ >= config_.adapt_interval;
  // Too late: drop the next frame, preferring silence. A dropped speech frame is lost audio:
  // speech needs half a frame of margin and waits longer between drops, unless the delay is
  // far over the target (a queue that drained, say), where getting back matters more.
  const bool far_over = delay > target + 2 * unit;
  const bool may_drop =
      next && (next->silence || far_over ? may_adapt : since_adapt_ >= kSpeechDropInterval);
  if (may_drop && delay - next->duration >= target + (next->silence ? 0 : unit / 2)) {
    play_ts_ += next->duration;
    delay -= next->duration;
    remove(*next);
    ++stats_.accelerated;
    since_adapt_ = 0;
    next = find(play_ts_);
  }
  stats_.current_delay_ms = static_cast<uint32_t>(std::max<int64_t>(0, delay));
  if (next) {
    // Too early: hold the position for a step (in speech only when clearly short).
    if (may_adapt && delay < target && (next->silence || delay + unit <= target)) {
      ++stats_.decelerated;
      since_adapt_ = 0;
      return conceal(play_ts_, config_.frame_ms, next->silence);
    }
    return play(*next);
  }
  // Nothing to play here. Before the target a frame may still come: hold. After it, the frame
  // is lost (or later than we wait for): conceal it and move on.
  if (delay < target) {
    ++(count_ == 0 ? stats_.underruns : stats_.decelerated);
    return conceal(play_ts_, config_.frame_ms, false);
  }
  ++(count_ == 0 ? stats_.underruns : stats_.lost);
  uint32_t d = last_duration_;
  if (count_ > 0) {
    Slot* e = earliest();
    if (before(e->ts, play_ts_ + d)) d = e->ts - play_ts_;  // up to a straddling frame
  }
  const uint32_t at = play_ts_;
  play_ts_ += d;
  return conceal(at, d, false);
}

JitterBuffer::Step JitterBuffer::conceal(uint32_t at, uint32_t duration, bool silence) {
  Step step;
  step.kind = Step::kConceal;
  step.timestamp_ms = at;
  step.duration_ms = duration;
  step.silence = silence;
  stats_.concealed_ms += duration;
  return step;
}

JitterBuffer::Step JitterBuffer::play(Slot& slot) {
  Step step;
  step.kind = Step::kFrame;
  step.timestamp_ms = slot.ts;
  step.duration_ms = slot.duration;
  step.silence = slot.silence;
  step.data = bytes(slot);  // stays valid until the slot is reused by a later put()
  last_duration_ = slot.duration;
  play_ts_ = slot.ts + slot.duration;
  remove(slot);
  ++stats_.played;
  return step;
}

}  // namespace wzp::proto
