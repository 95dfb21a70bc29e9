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

// At 96 % random loss a third of the gaps between packets that arrive are 25 or longer: read
// as outages, they made 96 % look like 20 % (the real 80 %-each-leg call reported 19.9 %). The
// meter reads such a path within two points of its loss after a few reports, a second with
// nothing at all repeats the last figure, and an outage on a clean path is still an outage.
TEST(LossMeter, HeavyLossIsLossNotOutagesAndSilenceIsNoNews) {
  LossMeter m;
  std::mt19937 rng(11);
  std::bernoulli_distribution lose(0.96);
  uint64_t seq = 0;
  double sum = 0, packets = 0, lost = 0, sent = 0;
  for (int report = 0; report < 40; ++report) {
    for (int i = 0; i < 50; ++i, ++seq) {
      const bool l = lose(rng);
      if (!l) m.on_packet(seq);
      if (report >= 10) lost += l, ++sent;
    }
    const auto r = m.take();
    if (report >= 10) sum += r.loss_percent * r.packets, packets += r.packets;
  }
  const double measured = sum / packets, truth = 100 * lost / sent;
  EXPECT_NEAR(measured, truth, 2.0) << truth;
  // A second in which nothing came: the last figure again, over no packets.
  const double last = m.take().loss_percent;
  const auto silent = m.take();
  EXPECT_EQ(silent.packets, 0u);
  EXPECT_EQ(silent.loss_percent, last);
  EXPECT_GT(silent.loss_percent, 80);

  LossMeter clean;
  for (uint64_t s = 0; s < 100; ++s) clean.on_packet(s);
  clean.take();
  for (uint64_t s = 130; s < 200; ++s) clean.on_packet(s);  // 30 packets at once: an outage
  EXPECT_EQ(clean.take().loss_percent, 0);
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
