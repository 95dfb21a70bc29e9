#include "proto/jitter_buffer.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace wzp::proto {
namespace {

std::vector<uint8_t> payload(uint32_t ts) {
  return {static_cast<uint8_t>(ts), static_cast<uint8_t>(ts >> 8), static_cast<uint8_t>(ts >> 16),
          static_cast<uint8_t>(ts >> 24)};
}

uint32_t ts_of(std::span<const uint8_t> d) {
  return d[0] | d[1] << 8 | d[2] << 16 | static_cast<uint32_t>(d[3]) << 24;
}

// Drives a buffer on a simulated clock: frames sent every 20 ms (sender clock scaled by
// `rate`), delivered after base + jitter ms, popped every 20 ms of receiver time.
struct Sim {
  JitterBuffer jb;
  std::vector<uint32_t> played;     // timestamps of frames played, in order
  std::vector<uint32_t> concealed;  // playout positions of concealment steps
  uint64_t steps = 0;
  explicit Sim(JitterConfig c = {}) : jb(c) {}

  struct Arrival {
    uint64_t at;
    uint32_t ts;
  };
  void run(std::vector<Arrival> arrivals, uint64_t until_ms) {
    std::stable_sort(arrivals.begin(), arrivals.end(),
                     [](const Arrival& a, const Arrival& b) { return a.at < b.at; });
    size_t next = 0;
    for (uint64_t now = 0; now < until_ms; now += 20) {
      while (next < arrivals.size() && arrivals[next].at <= now) {
        jb.put(arrivals[next].ts, payload(arrivals[next].ts), 20, arrivals[next].at);
        ++next;
      }
      const auto s = jb.pop(now);
      if (s.kind == JitterBuffer::Step::kFrame) {
        EXPECT_EQ(ts_of(s.data), s.timestamp_ms);
        played.push_back(s.timestamp_ms);
        ++steps;
      } else if (s.kind == JitterBuffer::Step::kConceal) {
        concealed.push_back(s.timestamp_ms);
        ++steps;
      }
    }
  }
};

std::vector<Sim::Arrival> steady(uint32_t frames, uint64_t delay, uint32_t ts0 = 0) {
  std::vector<Sim::Arrival> v;
  for (uint32_t i = 0; i < frames; ++i) v.push_back({i * 20 + delay, ts0 + i * 20});
  return v;
}

TEST(JitterBuffer, SteadyStreamPlaysEveryFrameInOrderWithoutWaiting) {
  Sim sim;
  sim.run(steady(500, 30), 500 * 20 + 500);
  ASSERT_EQ(sim.played.size(), 500u);
  for (size_t i = 0; i < sim.played.size(); ++i) EXPECT_EQ(sim.played[i], i * 20);
  EXPECT_EQ(sim.jb.stats().lost, 0u);
  // No jitter: nothing to wait for beyond the margin; a frame plays when it arrives.
  EXPECT_LE(sim.jb.stats().target_delay_ms, 5u);
  EXPECT_LE(sim.jb.stats().current_delay_ms, 20u);  // frames come between two 20 ms pops
}

TEST(JitterBuffer, ReorderedFramesPlayInOrderDuplicatesAndLateOnesAreCounted) {
  Sim sim;
  auto a = steady(400, 10);
  // Every tenth frame overtaken by the next: the buffer learns to wait for it.
  for (size_t i = 1; i + 1 < a.size(); i += 10) std::swap(a[i].at, a[i + 1].at);
  a.push_back({a[60].at + 5, a[60].ts});  // duplicate
  a.push_back({6000, 20 * 20});           // far too late
  sim.run(a, 400 * 20 + 200);
  EXPECT_GE(sim.played.size(), 398u);  // the first overtaken frame may be given up
  EXPECT_TRUE(std::is_sorted(sim.played.begin(), sim.played.end()));
  EXPECT_EQ(sim.jb.stats().duplicates, 1u);
  EXPECT_GE(sim.jb.stats().late, 1u);
  EXPECT_GE(sim.jb.stats().target_delay_ms, 20u);
}

TEST(JitterBuffer, MissingFramesAreConcealedNeverSkippedSilently) {
  Sim sim;
  auto a = steady(300, 10);
  a.erase(a.begin() + 100, a.begin() + 103);  // three frames lost
  sim.run(a, 300 * 20 + 200);
  EXPECT_EQ(sim.played.size(), 297u);
  // Each missing frame is concealed once, at its own place, when it is due.
  const std::vector<uint32_t> gap = {2000, 2020, 2040};
  EXPECT_TRUE(std::search(sim.concealed.begin(), sim.concealed.end(), gap.begin(), gap.end()) !=
              sim.concealed.end());
  // Nothing else is concealed before the stream ends.
  EXPECT_EQ(std::count_if(sim.concealed.begin(), sim.concealed.end(),
                          [](uint32_t t) { return t < 6000; }),
            3);
}

TEST(JitterBuffer, WaitsForRebuiltFramesOnlyWhileLossLasts) {
  Sim sim;
  std::vector<Sim::Arrival> a;
  // Ten seconds in which every fifth frame comes 60 ms late (rebuilt by FEC), then ten clean.
  for (uint32_t i = 0; i < 1000; ++i)
    a.push_back({i * 20 + 10 + (i < 500 && i % 5 == 0 ? 60 : 0), i * 20});
  std::vector<uint32_t> target_at;
  size_t next = 0;
  std::stable_sort(a.begin(), a.end(), [](auto& x, auto& y) { return x.at < y.at; });
  for (uint64_t now = 0; now < 1000 * 20 + 200; now += 20) {
    while (next < a.size() && a[next].at <= now) {
      const auto& f = a[next++];
      const bool rebuilt = f.ts / 20 < 500 && (f.ts / 20) % 5 == 0;
      sim.jb.put(f.ts, payload(f.ts), 20, f.at, false, rebuilt);
    }
    sim.jb.pop(now);
    if (now % 1000 == 0) target_at.push_back(sim.jb.target_delay_ms());
  }
  EXPECT_GE(target_at[8], 60u);   // covers the rebuilt frames during loss
  EXPECT_LE(target_at[13], 10u);  // back to the jitter's within 2 s of the loss ending
  EXPECT_LE(sim.jb.stats().lost, 10u);
}

TEST(JitterBuffer, EmptyBufferIsAnUnderrunWithConcealment) {
  Sim sim;
  sim.run(steady(50, 10), 50 * 20 + 300);
  EXPECT_GT(sim.jb.stats().underruns, 5u);
  EXPECT_EQ(sim.jb.stats().lost, 0u);
}

TEST(JitterBuffer, TargetFollowsJitterWithinItsBounds) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> jitter(0, 120);
  std::vector<Sim::Arrival> a;
  for (uint32_t i = 0; i < 3000; ++i) a.push_back({i * 20 + 50 + jitter(rng), i * 20});
  Sim sim({.min_delay_ms = 40, .max_delay_ms = 400});
  sim.run(a, 3000 * 20 + 1000);
  const auto& st = sim.jb.stats();
  EXPECT_GT(st.jitter_ms, 20);
  EXPECT_GT(st.target_delay_ms, 80u);
  EXPECT_LE(st.target_delay_ms, 400u);
  // With the delay adapted, jitter of up to 120 ms costs under 3 % of slots.
  EXPECT_LT(static_cast<double>(st.late + st.lost) / 3000, 0.03);

  Sim capped({.min_delay_ms = 40, .max_delay_ms = 60});
  capped.run(a, 3000 * 20 + 1000);
  EXPECT_EQ(capped.jb.stats().target_delay_ms, 60u);
}

// A queue builds on the path (800 ms over 2 s), stands for 5 s, and drains over 2 s. A standing
// queue is part of the path, not jitter: within 3 s of the drain the buffer is back to the clean
// path's delay. Before, the transit base remembered the fastest arrival for good, the standing
// queue counted as 800 ms of jitter, and the buffer held that delay until the arrival history
// had forgotten all of it (5 s after the drain).
TEST(JitterBuffer, AQueueThatStoodAndDrainedIsLetGoWithinThreeSeconds) {
  std::vector<Sim::Arrival> a;
  const auto queue_at = [](double ms) {  // the queue a frame sent at ms meets
    if (ms < 5000) return 0.0;
    if (ms < 7000) return 800 * (ms - 5000) / 2000;
    if (ms < 12000) return 800.0;
    if (ms < 14000) return 800 * (14000 - ms) / 2000;
    return 0.0;
  };
  for (uint32_t i = 0; i < 1250; ++i)
    a.push_back({static_cast<uint64_t>(i * 20 + 30 + queue_at(i * 20)), i * 20});
  Sim clean;
  clean.run(steady(250, 30), 5000);
  Sim sim({.max_delay_ms = 1000});
  sim.run(a, 14000 + 3000);
  const auto& st = sim.jb.stats();
  EXPECT_LE(st.current_delay_ms, clean.jb.stats().current_delay_ms + 60);
  EXPECT_LE(st.target_delay_ms, clean.jb.stats().target_delay_ms + 60);
}

TEST(JitterBuffer, OverrunDropsTheOldest) {
  JitterBuffer jb({.capacity = 8});
  for (uint32_t i = 0; i < 12; ++i) jb.put(i * 20, payload(i * 20), 20, 0);
  EXPECT_EQ(jb.stats().overruns, 4u);
  const auto s = jb.pop(0);
  ASSERT_EQ(s.kind, JitterBuffer::Step::kFrame);
  EXPECT_EQ(s.timestamp_ms, 4 * 20u);
}

TEST(JitterBuffer, TimestampsWrapAround) {
  Sim sim;
  sim.run(steady(200, 10, 0xFFFFFFFFu - 50 * 20 + 1), 200 * 20 + 200);
  EXPECT_EQ(sim.played.size(), 200u);
  EXPECT_EQ(sim.jb.stats().lost, 0u);
}

// An hour-long call with the sender's clock 0.5 % fast, then 0.5 % slow: the buffer drops or
// inserts a step now and then, and its delay stays bounded throughout.
TEST(JitterBuffer, ClockDriftIsAbsorbedOverAnHour) {
  for (double rate : {1.005, 0.995}) {
    JitterBuffer jb;
    const uint32_t frames = 3600 * 50;
    uint32_t max_delay = 0;
    size_t next = 0;
    uint64_t played = 0;
    for (uint64_t now = 0; next < frames; now += 20) {
      // Frame i leaves the sender at i * 20 / rate on the receiver's clock, 30 ms in flight.
      while (next < frames && static_cast<uint64_t>(next * 20 / rate) + 30 <= now) {
        jb.put(static_cast<uint32_t>(next * 20), payload(static_cast<uint32_t>(next * 20)), 20,
               now);
        ++next;
      }
      const auto s = jb.pop(now);
      played += s.kind == JitterBuffer::Step::kFrame;
      if (now > 10000) max_delay = std::max(max_delay, jb.buffered_ms());
    }
    const auto& st = jb.stats();
    EXPECT_LE(max_delay, st.target_delay_ms + 5 * 20u) << "rate " << rate;
    if (rate > 1) {
      EXPECT_GT(st.accelerated, frames * 0.004) << "rate " << rate;
    } else {
      EXPECT_GT(st.decelerated + st.underruns, frames * 0.004) << "rate " << rate;
    }
    EXPECT_GT(played, frames * 0.99);
  }
}

}  // namespace
}  // namespace wzp::proto
