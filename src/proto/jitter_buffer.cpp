#include "proto/jitter_buffer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace wzp::proto {
namespace {

// a is before b in 32-bit serial arithmetic.
bool before(uint32_t a, uint32_t b) { return static_cast<int32_t>(b - a) > 0; }

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
  have_transit_ = false;
  jitter_ = 0;
  since_adapt_ = 0;
}

uint32_t JitterBuffer::target_delay_ms() const {
  const double frames = std::ceil(jitter_ / config_.frame_ms) + config_.safety_frames;
  const auto ms = static_cast<uint32_t>(frames * config_.frame_ms);
  return std::clamp(ms, config_.min_delay_ms, config_.max_delay_ms);
}

uint32_t JitterBuffer::buffered_ms() const {
  if (count_ == 0 || !started_) return 0;
  return before(play_ts_, newest_end_) ? newest_end_ - play_ts_ : 0;
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

JitterBuffer::Put JitterBuffer::put(uint32_t ts, std::span<const uint8_t> frame,
                                    uint32_t duration_ms, uint64_t arrival_ms, bool silence) {
  if (frame.size() > config_.max_frame_bytes) return Put::kTooLarge;
  if (started_ && before(ts, play_ts_)) {
    ++stats_.late;
    return Put::kLate;
  }
  if (find(ts)) {
    ++stats_.duplicates;
    return Put::kDuplicate;
  }
  // Interarrival jitter (RFC 3550): how much the transit time moved since the last frame.
  const int64_t transit = static_cast<int64_t>(arrival_ms) - static_cast<int64_t>(ts);
  if (have_transit_) {
    const double d = std::abs(static_cast<double>(transit - last_transit_));
    jitter_ += config_.jitter_gain * (std::min(d, 5000.0) - jitter_);
  }
  have_transit_ = true;
  last_transit_ = transit;

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
  stats_.jitter_ms = jitter_;
  stats_.target_delay_ms = target_delay_ms();
  return Put::kAccepted;
}

JitterBuffer::Step JitterBuffer::pop() {
  Step step;
  const uint32_t target = target_delay_ms();
  stats_.target_delay_ms = target;
  if (!started_) {
    Slot* first = earliest();
    if (!first || static_cast<int32_t>(newest_end_ - first->ts) < static_cast<int32_t>(target)) {
      return step;  // still filling up to the target delay
    }
    started_ = true;
    play_ts_ = first->ts;
  }
  ++since_adapt_;
  const uint32_t level = buffered_ms();
  stats_.current_delay_ms = level;

  Slot* next = find(play_ts_);
  // The unit of the thresholds is the content's frame length: with 40 ms frames the level
  // moves in 40 ms steps, and 20 ms thresholds would make it hunt.
  const uint32_t unit = std::max(config_.frame_ms, last_duration_);
  // Too much buffered: drop the next frame, preferring silence; forced when far over target.
  if (next && since_adapt_ >= config_.adapt_interval && level > target + 2 * unit &&
      (next->silence || level > target + 3 * unit)) {
    play_ts_ += next->duration;
    remove(*next);
    ++stats_.accelerated;
    since_adapt_ = 0;
    next = find(play_ts_);
  }
  // Too little buffered (but something is coming): hold the position for a step, in
  // silence when possible, in speech too when two or more frames short (a raised target).
  if (next && since_adapt_ >= config_.adapt_interval && level + unit <= target &&
      (next->silence || level + 2 * unit <= target)) {
    ++stats_.decelerated;
    since_adapt_ = 0;
    return conceal(play_ts_, config_.frame_ms, next->silence);
  }
  if (next) return play(*next);
  if (count_ == 0) {
    // Underrun: conceal, but hold the position, so that a frame that is merely late still
    // plays (the sender's clock may run slower than ours; the delay grows by one step).
    ++stats_.underruns;
    return conceal(play_ts_, last_duration_, false);
  }
  Slot* e = earliest();
  const uint32_t gap = e->ts - play_ts_;
  if (gap > std::max(target, 2 * last_duration_)) {
    // Resuming after an outage: the missing stretch was concealed while it was happening;
    // jump to what is here rather than conceal it all over again.
    stats_.lost += gap / last_duration_;
    play_ts_ = e->ts;
    return play(*e);
  }
  // A frame that never came: conceal it and move on (only up to a straddling frame).
  ++stats_.lost;
  const uint32_t d = before(e->ts, play_ts_ + last_duration_) ? gap : last_duration_;
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
