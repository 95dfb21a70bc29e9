#include "transport/impairment.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wzp::transport {
namespace {

// Delivered share over n packets sent every 20 ms.
double delivered_share(Impairment& imp, int n) {
  int delivered = 0;
  for (int i = 0; i < n; ++i) {
    delivered += imp.on_packet(i * 20ull, 100).fate == Impairment::Fate::kDelivered;
  }
  return static_cast<double>(delivered) / n;
}

TEST(Impairment, RandomLossMatchesItsRate) {
  Impairment imp({.loss = 0.2, .seed = 7});
  const double d = delivered_share(imp, 20000);
  // Binomial: sd = sqrt(0.2 * 0.8 / 20000) = 0.0028; five sigma.
  EXPECT_NEAR(d, 0.8, 0.015);
  EXPECT_EQ(imp.counters().lost + imp.counters().delivered, 20000u);
}

TEST(Impairment, GilbertElliottLossComesInBurstsOfTheMeanLength) {
  Impairment imp({.burst_loss = 0.15, .mean_burst = 3, .seed = 3});
  int runs = 0, lost = 0;
  bool in_run = false;
  for (int i = 0; i < 50000; ++i) {
    const bool l = imp.on_packet(i * 20ull, 100).fate == Impairment::Fate::kLost;
    lost += l;
    runs += l && !in_run;
    in_run = l;
  }
  EXPECT_NEAR(lost / 50000.0, 0.15, 0.02);
  EXPECT_NEAR(static_cast<double>(lost) / runs, 3.0, 0.3);
}

TEST(Impairment, SameSeedSameFates) {
  Impairment a({.loss = 0.3, .jitter_ms = 30, .duplicate = 0.05, .seed = 11});
  Impairment b({.loss = 0.3, .jitter_ms = 30, .duplicate = 0.05, .seed = 11});
  for (int i = 0; i < 1000; ++i) {
    const auto x = a.on_packet(i * 20ull, 100), y = b.on_packet(i * 20ull, 100);
    ASSERT_EQ(x.fate, y.fate);
    ASSERT_EQ(x.deliveries, y.deliveries);
    ASSERT_EQ(x.deliver_at_ms[0], y.deliver_at_ms[0]);
  }
}

TEST(Impairment, DelayJitterAndOrdering) {
  Impairment ordered({.delay_ms = 50, .jitter_ms = 80, .reorder = false, .seed = 1});
  Impairment reorders({.delay_ms = 50, .jitter_ms = 80, .reorder = true, .seed = 1});
  uint64_t last = 0;
  int overtakes = 0;
  uint64_t prev = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto d = ordered.on_packet(i * 20ull, 100);
    ASSERT_GE(d.deliver_at_ms[0], i * 20ull + 50);
    ASSERT_GE(d.deliver_at_ms[0], last);  // never overtakes
    last = d.deliver_at_ms[0];
    const auto r = reorders.on_packet(i * 20ull, 100);
    ASSERT_LE(r.deliver_at_ms[0], i * 20ull + 50 + 80);
    overtakes += r.deliver_at_ms[0] < prev;
    prev = r.deliver_at_ms[0];
  }
  EXPECT_GT(overtakes, 100);
}

TEST(Impairment, OutageBlacksOutItsWindowOnly) {
  Impairment imp({.outages = {{10000, 3000}}, .seed = 1});
  for (uint64_t t = 0; t < 20000; t += 20) {
    const auto f = imp.on_packet(t, 100).fate;
    EXPECT_EQ(f == Impairment::Fate::kOutage, t >= 10000 && t < 13000) << t;
  }
  EXPECT_EQ(imp.counters().outage, 150u);
}

TEST(Impairment, BandwidthCapQueuesThenDrops) {
  // 80 kbit/s carries 100 bytes in 10 ms; offer a packet every 5 ms: twice the capacity.
  Impairment imp({.rate_kbps = 80, .queue_packets = 10, .seed = 1});
  uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto d = imp.on_packet(i * 5ull, 100);
    if (d.fate == Impairment::Fate::kDelivered) {
      EXPECT_GE(d.deliver_at_ms[0], last + 10 - 1);  // serialised at the link rate
      last = d.deliver_at_ms[0];
    }
  }
  EXPECT_NEAR(imp.counters().delivered / 1000.0, 0.5, 0.03);
  EXPECT_GT(imp.counters().queue_drops, 400u);
}

TEST(Impairment, DuplicatesAreDeliveredTwice) {
  Impairment imp({.duplicate = 0.1, .seed = 5});
  for (int i = 0; i < 5000; ++i) (void)imp.on_packet(i * 20ull, 100);
  EXPECT_NEAR(imp.counters().duplicated / 5000.0, 0.1, 0.015);
  EXPECT_EQ(imp.counters().delivered, 5000 + imp.counters().duplicated);
}

}  // namespace
}  // namespace wzp::transport
