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
      const auto s = jb.pop();
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

TEST(JitterBuffer, SteadyStreamPlaysEveryFrameInOrderAfterTheTargetDelay) {
  Sim sim;
  sim.run(steady(500, 30), 500 * 20 + 500);
  ASSERT_EQ(sim.played.size(), 500u);
  for (size_t i = 0; i < sim.played.size(); ++i) EXPECT_EQ(sim.played[i], i * 20);
  EXPECT_EQ(sim.jb.stats().lost, 0u);
  EXPECT_EQ(sim.jb.stats().target_delay_ms, 40u);  // no jitter: the 2-frame safety margin
}

TEST(JitterBuffer, ReorderedFramesPlayInOrderDuplicatesAndLateOnesAreCounted) {
  Sim sim;
  auto a = steady(200, 10);
  std::swap(a[50].at, a[51].at);
  a.push_back({a[60].at + 5, a[60].ts});  // duplicate
  a.push_back({3000, 20 * 20});           // far too late
  sim.run(a, 200 * 20 + 200);
  EXPECT_EQ(sim.played.size(), 200u);
  EXPECT_TRUE(std::is_sorted(sim.played.begin(), sim.played.end()));
  EXPECT_EQ(sim.jb.stats().duplicates, 1u);
  EXPECT_EQ(sim.jb.stats().late, 1u);
}

TEST(JitterBuffer, MissingFramesAreConcealedNeverSkippedSilently) {
  Sim sim;
  auto a = steady(300, 10);
  a.erase(a.begin() + 100, a.begin() + 103);  // three frames lost
  sim.run(a, 300 * 20 + 200);
  EXPECT_EQ(sim.played.size(), 297u);
  // The gap is concealed while nothing newer is there (holding the position, since the frames
  // might merely be late); once frame 103 arrives the buffer resumes there, counting the three
  // as lost rather than concealing them again.
  ASSERT_GE(sim.concealed.size(), 2u);
  EXPECT_EQ(sim.concealed[0], 2000u);
  EXPECT_EQ(sim.concealed[1], 2000u);
  EXPECT_EQ(sim.jb.stats().lost, 3u);
  EXPECT_EQ(sim.played.size() + sim.jb.stats().lost, 300u);
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

TEST(JitterBuffer, OverrunDropsTheOldest) {
  JitterBuffer jb({.capacity = 8});
  for (uint32_t i = 0; i < 12; ++i) jb.put(i * 20, payload(i * 20), 20, 0);
  EXPECT_EQ(jb.stats().overruns, 4u);
  const auto s = jb.pop();
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
      const auto s = jb.pop();
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
