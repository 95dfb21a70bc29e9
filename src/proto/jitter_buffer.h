// Adaptive jitter buffer for one incoming stream of encoded frames.
//
// Frames are ordered by media timestamp (ms since the sender's start; serial arithmetic, so
// the 32-bit wrap is harmless). The caller pops one frame per playout step; a missing frame
// yields a concealment step, never a silent gap. The playout delay targets
//   ceil(jitter / frame) + safety frames
// with jitter the exponential moving average of interarrival jitter (RFC 3550 §6.4.1 with a
// configurable gain), clamped between a minimum and a maximum. The buffer level is steered to
// the target by dropping a frame (accelerate) or inserting a concealment step (decelerate), at
// most once per `adapt_interval` steps, in silence when the error is one frame and in speech
// too when it is more (a target raised for FEC, say); this also absorbs clock
// drift between sender and receiver, so the delay stays bounded however long the call.
//
// Frames are held in a fixed ring of slots: nothing is allocated after construction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace wzp::proto {

struct JitterConfig {
  uint32_t frame_ms = 20;         // nominal frame duration (concealment step)
  uint32_t min_delay_ms = 40;
  uint32_t max_delay_ms = 1000;
  double jitter_gain = 0.05;      // EMA gain for the interarrival jitter
  uint32_t safety_frames = 2;
  uint32_t capacity = 128;        // frames held at most
  uint32_t max_frame_bytes = 1280;
  uint32_t adapt_interval = 10;   // steps between two accelerate/decelerate actions
};

struct JitterStats {
  uint64_t received = 0;     // frames accepted
  uint64_t played = 0;       // frames handed out for decoding
  uint64_t lost = 0;         // steps concealed because a frame never arrived in time
  uint64_t late = 0;         // frames that arrived after their playout time
  uint64_t duplicates = 0;
  uint64_t underruns = 0;    // steps concealed with the buffer empty
  uint64_t overruns = 0;     // frames dropped because the buffer was full
  uint64_t accelerated = 0;  // frames dropped to shrink the delay
  uint64_t decelerated = 0;  // concealment steps inserted to grow it
  uint64_t concealed_ms = 0;
  uint32_t current_delay_ms = 0;
  uint32_t target_delay_ms = 0;
  double jitter_ms = 0;
};

class JitterBuffer {
 public:
  explicit JitterBuffer(const JitterConfig& config = {});

  enum class Put { kAccepted, kDuplicate, kLate, kTooLarge };
  // arrival_ms: the receiver's clock when the frame arrived. `silence` marks comfort-noise or
  // silent frames, which the buffer prefers to drop when it must shrink.
  Put put(uint32_t timestamp_ms, std::span<const uint8_t> frame, uint32_t duration_ms,
          uint64_t arrival_ms, bool silence = false);

  struct Step {
    enum Kind { kWaiting, kFrame, kConceal } kind = kWaiting;
    uint32_t timestamp_ms = 0;  // playout position of this step
    uint32_t duration_ms = 0;
    bool silence = false;
    std::span<const uint8_t> data;  // for kFrame; valid until the next put() or pop()
  };
  // One playout step: kWaiting until enough is buffered to start, then a frame or a
  // concealment step covering duration_ms.
  Step pop();

  // Raises or lowers the floor of the adaptive target (the FEC in use may need more delay).
  void set_min_delay(uint32_t ms) { config_.min_delay_ms = ms; }
  const JitterStats& stats() const { return stats_; }
  uint32_t target_delay_ms() const;
  uint32_t buffered_ms() const;  // media buffered ahead of the playout position
  void reset();

 private:
  struct Slot {
    bool used = false;
    bool silence = false;
    uint32_t ts = 0;
    uint32_t duration = 0;
    uint32_t len = 0;
  };
  Step conceal(uint32_t at, uint32_t duration, bool silence);
  Step play(Slot& slot);
  Slot* find(uint32_t ts);
  Slot* earliest();
  void remove(Slot& s);
  std::span<const uint8_t> bytes(const Slot& s) const;

  JitterConfig config_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> storage_;
  uint32_t count_ = 0;
  bool started_ = false;
  uint32_t play_ts_ = 0;       // next playout position
  uint32_t newest_end_ = 0;    // end of the newest frame received
  bool have_transit_ = false;
  int64_t last_transit_ = 0;
  double jitter_ = 0;
  uint32_t since_adapt_ = 0;
  uint32_t last_duration_;
  JitterStats stats_;
};

}  // namespace wzp::proto
