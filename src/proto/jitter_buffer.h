// Adaptive jitter buffer for one incoming stream of encoded frames.
//
// Frames are ordered by media timestamp (ms since the sender's start; serial arithmetic, so
// the 32-bit wrap is harmless). The caller pops one playout step per 20 ms with its clock; a
// missing frame yields a concealment step, never a silent gap.
//
// Delay is measured against the fastest path: `base` is the smallest transit (arrival minus
// timestamp) of the last 2 s, and a frame's arrival delay is how much later than that it came.
// The playout delay — how long after the fastest possible arrival a frame is played — is
// steered to a target that covers what actually arrives, in the manner of NetEq:
//   - the `quantile` of the arrival delays of frames received directly in the last
//     `jitter_window_ms`, so that jitter costs about 1 - quantile of the frames, and a path
//     that calms down (a queue that drained) is followed within that window;
//   - while there is loss, the `recovery_quantile` of every frame's availability (direct
//     arrivals and frames rebuilt by FEC, with the time they were rebuilt) over the same window,
//     so that the buffer waits as long as recovery usually needs and concedes the rare frame
//     rebuilt after a long burst; once no frame has been rebuilt for `recovery_window_ms` the
//     target returns to the jitter's.
// The buffer moves towards the target by holding the playout position for a step (decelerate,
// concealing) or dropping a frame (accelerate), at most once per `adapt_interval` steps,
// preferring silence. The same steering absorbs clock drift between sender and receiver.
//
// Frames are held in a fixed ring of slots: nothing is allocated after construction.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace wzp::proto {

struct JitterConfig {
  uint32_t frame_ms = 20;        // nominal frame duration (concealment step)
  uint32_t min_delay_ms = 0;     // floor of the target
  uint32_t max_delay_ms = 1000;  // ceiling of the target
  uint32_t start_delay_ms = 0;   // target while there is too little to measure
  double quantile = 0.995;       // of direct arrivals the target covers
  uint32_t jitter_window_ms = 5000;
  uint32_t margin_ms = 5;  // on top: the transit base floats a few ms over the floor
  uint32_t recovery_window_ms = 1000;
  double recovery_quantile = 0.995;  // of all frames, direct and rebuilt, while loss lasts
  uint32_t capacity = 128;           // frames held at most
  uint32_t max_frame_bytes = 1280;
  uint32_t adapt_interval = 5;  // steps between two accelerate/decelerate actions
};

struct JitterStats {
  uint64_t received = 0;  // frames accepted
  uint64_t played = 0;    // frames handed out for decoding
  uint64_t lost = 0;      // steps concealed because a frame never arrived in time
  uint64_t late = 0;      // frames that arrived after their playout time
  uint64_t duplicates = 0;
  uint64_t underruns = 0;    // steps concealed with the buffer empty
  uint64_t overruns = 0;     // frames dropped because the buffer was full
  uint64_t accelerated = 0;  // frames dropped to shrink the delay
  uint64_t decelerated = 0;  // concealment steps inserted to grow it
  uint64_t concealed_ms = 0;
  uint32_t current_delay_ms = 0;  // playout delay beyond the fastest arrival, last step
  uint32_t target_delay_ms = 0;
  double jitter_ms = 0;  // RFC 3550 interarrival jitter (reports, status lines)
};

class JitterBuffer {
 public:
  explicit JitterBuffer(const JitterConfig& config = {});

  enum class Put { kAccepted, kDuplicate, kLate, kTooLarge };
  // arrival_ms: the receiver's clock when the frame arrived (or was rebuilt, for `recovered`).
  // `silence` marks comfort-noise or silent frames, which the buffer prefers to drop.
  Put put(uint32_t timestamp_ms, std::span<const uint8_t> frame, uint32_t duration_ms,
          uint64_t arrival_ms, bool silence = false, bool recovered = false);

  struct Step {
    enum Kind { kWaiting, kFrame, kConceal } kind = kWaiting;
    uint32_t timestamp_ms = 0;  // playout position of this step
    uint32_t duration_ms = 0;
    bool silence = false;
    std::span<const uint8_t> data;  // for kFrame; valid until the next put() or pop()
  };
  // One playout step at now_ms (the same clock as arrivals): kWaiting until the first frame
  // is due, then a frame or a concealment step covering duration_ms.
  Step pop(uint64_t now_ms);

  const JitterStats& stats() const { return stats_; }
  uint32_t target_delay_ms() const;
  uint32_t buffered_ms() const;  // media buffered ahead of the playout position
  void reset();

 private:
  static constexpr size_t kArrivals = 320;  // direct arrivals remembered (6 s at 20 ms)
  static constexpr size_t kRecoveries = 64;
  struct Slot {
    bool used = false;
    bool silence = false;
    uint32_t ts = 0;
    uint32_t duration = 0;
    uint32_t len = 0;
  };
  struct Arrival {
    uint64_t at = 0;  // 0: unused
    uint32_t delay = 0;
    double base = 0;  // the transit base its delay is measured against (it only rises)
  };
  Step conceal(uint32_t at, uint32_t duration, bool silence);
  Step play(Slot& slot);
  Slot* find(uint32_t ts);
  Slot* earliest();
  void remove(Slot& s);
  std::span<const uint8_t> bytes(const Slot& s) const;
  void note_arrival(uint32_t ts, uint64_t arrival_ms, bool recovered);
  int64_t playout_delay(uint64_t now_ms) const;

  JitterConfig config_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> storage_;
  uint32_t count_ = 0;
  bool started_ = false;
  uint32_t play_ts_ = 0;     // next playout position
  uint32_t newest_end_ = 0;  // end of the newest frame received
  bool have_base_ = false;
  double base_ = 0;      // smallest recent transit, ms
  double risen_to_ = 0;  // base_ after the last arrival
  static constexpr size_t kBaseBuckets = 8;
  struct BaseBucket {
    bool used = false;
    uint64_t slice = 0;  // arrival_ms / (window / kBaseBuckets)
    int64_t min = 0;
  };
  std::array<BaseBucket, kBaseBuckets> base_buckets_{};
  int64_t last_transit_ = 0;
  double jitter_ = 0;
  std::array<Arrival, kArrivals> arrivals_{};
  size_t arrival_next_ = 0;
  mutable std::array<uint32_t, kArrivals + kRecoveries> scratch_{};
  uint64_t direct_ = 0;
  std::array<Arrival, kRecoveries> recoveries_{};
  size_t recovery_next_ = 0;
  uint64_t last_arrival_ = 0;
  uint32_t since_adapt_ = 0;
  uint32_t held_target_ = 0;  // the target in force (falls only after kTargetHoldMs)
  uint64_t held_since_ms_ = 0;
  uint32_t last_duration_;
  JitterStats stats_;
};

}  // namespace wzp::proto
