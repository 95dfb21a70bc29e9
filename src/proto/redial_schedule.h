// The one reconnect schedule: what SignalSession (presence) and RoomCall (a call) follow when
// their relay is lost. The first retry goes at once, then 1, 2, 4, 8, 15 and 30 s after each
// failure, 30 s from then on, never giving up. Single flight: while a dial is due, a second
// loss schedules nothing. The owner says when the schedule starts over (reset: a registration,
// or a call that has held for a while) and retargets it (restart: a dial at once, the schedule
// from its start).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>

#include "proto/scheduler.h"

namespace wzp::proto {

class RedialSchedule {
 public:
  static constexpr uint64_t kStepsMs[] = {0, 1000, 2000, 4000, 8000, 15000, 30000};

  struct Step {
    uint32_t attempt = 0;  // 1 for the first retry since the last reset
    uint64_t delay_ms = 0;
  };

  RedialSchedule(Scheduler& scheduler, std::function<void()> dial)
      : scheduler_(scheduler), dial_(std::move(dial)) {}
  ~RedialSchedule() { cancel(); }
  RedialSchedule(const RedialSchedule&) = delete;
  RedialSchedule& operator=(const RedialSchedule&) = delete;

  // The connection is lost, or a try failed: the next dial, on the schedule. nullopt when one
  // is already due.
  std::optional<Step> next() {
    if (timer_) return std::nullopt;
    const uint64_t delay = kStepsMs[std::min<size_t>(taken_, std::size(kStepsMs) - 1)];
    ++taken_;
    timer_ = scheduler_.call_after(delay, [this] {
      timer_ = 0;
      dial_();
    });
    return Step{taken_, delay};
  }
  // Succeeded: the next loss starts the schedule over (nothing due is touched).
  void reset() { taken_ = 0; }
  // A new target: whatever was due is dropped; a dial at once, the schedule from its start.
  Step restart() {
    cancel();
    reset();
    return *next();
  }
  void cancel() {
    if (timer_) scheduler_.cancel(timer_);
    timer_ = 0;
  }
  bool due() const { return timer_ != 0; }
  uint32_t taken() const { return taken_; }  // retries since the last reset

 private:
  Scheduler& scheduler_;
  std::function<void()> dial_;
  uint64_t timer_ = 0;
  uint32_t taken_ = 0;
};

}  // namespace wzp::proto
