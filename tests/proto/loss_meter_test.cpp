// The receiver's loss figure must be what the path did: reordering, duplicates and outages are
// not loss, and random loss reads within sampling noise of its rate.
#include "proto/loss_meter.h"

#include <gtest/gtest.h>

#include <random>

namespace wzp::proto {
namespace {

TEST(LossMeter, RandomLossReadsAsItsRate) {
  LossMeter m;
  std::mt19937 rng(5);
  uint64_t seq = 0, lost = 0;
  double sum = 0;
  for (int report = 0; report < 50; ++report) {
    for (int i = 0; i < 100; ++i, ++seq) {
      if (rng() % 5 == 0) {
        ++lost;
      } else {
        m.on_packet(seq);
      }
    }
    sum += m.take().loss_percent;
  }
  EXPECT_NEAR(sum / 50, 100.0 * lost / seq, 0.5);
}

TEST(LossMeter, ReorderingAndDuplicatesAreNotLoss) {
  LossMeter m;
  for (int report = 0; report < 20; ++report) {
    const uint64_t base = report * 100;
    for (uint64_t i = 0; i < 100; i += 4) {  // 0..3 arrive as 3, 1, 0, 2, and 1 twice
      for (uint64_t k : {3, 1, 0, 2, 1}) m.on_packet(base + i + k);
    }
    const auto r = m.take();
    EXPECT_EQ(r.loss_percent, 0) << report;
    if (report > 0) {
      EXPECT_GE(r.reorder_depth, 3u);
    }
  }
}

TEST(LossMeter, AnOutageIsCountedApartFromLoss) {
  LossMeter m;
  for (uint64_t s = 0; s < 100; ++s) m.on_packet(s);
  m.take();
  for (uint64_t s = 250; s < 350; ++s) m.on_packet(s);  // 150 packets never came, all at once
  const auto r = m.take();
  EXPECT_EQ(r.loss_percent, 0);
  EXPECT_EQ(r.outage_packets, 150u);
  for (uint64_t s = 350; s < 450; ++s) {
    if (s % 10 != 0) m.on_packet(s);  // then 10 % loss again
  }
  EXPECT_NEAR(m.take().loss_percent, 10, 1.5);
}

TEST(LossMeter, BurstsShowAsLongerRuns) {
  LossMeter m;
  for (uint64_t s = 0; s < 1000; ++s) {
    if (s % 10 >= 3) m.on_packet(s);  // runs of three
  }
  const auto r = m.take();
  EXPECT_NEAR(r.mean_burst, 3, 0.01);
  EXPECT_NEAR(r.loss_percent, 30, 0.5);
}

}  // namespace
}  // namespace wzp::proto
